/* SHA-256 against the FIPS 180-2 Appendix B example vectors, and file hashes
 * against the sha256sum tool (coreutils) at every padding boundary. */
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "core/sha256.h"
#include "dlp/dlp.h"

static void check_vector(const char *text, const char *expected)
{
    char hex[65];
    dlp_sha256_hex(text, strlen(text), hex);
    CHECK(strcmp(hex, expected) == 0);
    if (strcmp(hex, expected)) fprintf(stderr, "  \"%s\": got %s\n", text, hex);
}

/* One million 'a', fed in uneven pieces so block boundaries fall mid-update. */
static void check_million_a(void)
{
    char piece[1000];
    memset(piece, 'a', sizeof piece);
    dlp_sha256 hash;
    dlp_sha256_init(&hash);
    size_t fed = 0, step = 1;
    while (fed < 1000000) {
        size_t take = step < 1000000 - fed ? step : 1000000 - fed;
        dlp_sha256_update(&hash, piece, take);
        fed += take;
        step = step % 983 + 13; /* stays below sizeof piece */
    }
    unsigned char digest[32];
    dlp_sha256_final(&hash, digest);
    static const unsigned char expected[32] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7,
                                               0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97,
                                               0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    CHECK(memcmp(digest, expected, 32) == 0);
}

/* Writes length pseudo-random bytes, then compares with `sha256sum`. */
static void check_file_against_tool(const char *tmp, size_t length)
{
    char path[4096], command[4200], tool_hex[65] = {0}, hex[65];
    snprintf(path, sizeof path, "%s/sha256_%zu.bin", tmp, length);
    FILE *file = fopen(path, "wb");
    CHECK(file != NULL);
    if (!file) return;
    unsigned state = 12345u + (unsigned)length;
    for (size_t i = 0; i < length; i++) {
        state = state * 1103515245u + 12345u;
        fputc((int)(state >> 16) & 255, file);
    }
    fclose(file);
    snprintf(command, sizeof command, "sha256sum '%s'", path);
    FILE *tool = popen(command, "r");
    CHECK(tool != NULL);
    if (!tool) return;
    CHECK(fscanf(tool, "%64s", tool_hex) == 1);
    pclose(tool);
    CHECK_OK(dlp_sha256_file(path, hex));
    CHECK(strcmp(hex, tool_hex) == 0);
    if (strcmp(hex, tool_hex)) fprintf(stderr, "  %zu bytes: ours %s, sha256sum %s\n", length, hex, tool_hex);
    unlink(path);
}

int main(void)
{
    check_vector("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_vector("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_vector("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_vector("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrs"
                 "tnopqrstu",
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    check_million_a();

    const char *tmp = check_env("DLP_TEST_TMP");
    static const size_t lengths[] = {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 65535, 65536, 65537, 200003};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) check_file_against_tool(tmp, lengths[i]);

    char hex[65];
    CHECK_FAILS(dlp_sha256_file("/nonexistent/weights.h5", hex), DLP_ERR_IO, "/nonexistent/weights.h5");
    return check_summary("sha256");
}
