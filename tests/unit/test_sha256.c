/* test_sha256.c: SHA-256 against the FIPS 180-4 example vectors (NIST CSRC
 * "Examples with intermediate values") and against sha256sum on a file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/sha256.h"

static void check_vector(const char *message, size_t repeat, const char *expected)
{
    dlp_sha256 hash;
    uint8_t digest[32];
    char hex[65];
    dlp_sha256_init(&hash);
    for (size_t i = 0; i < repeat; i++) dlp_sha256_update(&hash, message, strlen(message));
    dlp_sha256_final(&hash, digest);
    dlp_sha256_hex(digest, hex);
    if (strcmp(hex, expected) != 0) fprintf(stderr, "sha256(\"%.20s\" x %zu) = %s\n", message, repeat, hex);
    CHECK(strcmp(hex, expected) == 0);
}

/* Updates split at every offset give the one-shot digest (block boundary handling). */
static void check_split_updates(void)
{
    char data[200];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 7 + 3);
    char whole[65];
    dlp_sha256_buffer(data, sizeof data, whole);
    for (size_t cut = 0; cut <= sizeof data; cut++) {
        dlp_sha256 hash;
        uint8_t digest[32];
        char hex[65];
        dlp_sha256_init(&hash);
        dlp_sha256_update(&hash, data, cut);
        dlp_sha256_update(&hash, data + cut, sizeof data - cut);
        dlp_sha256_final(&hash, digest);
        dlp_sha256_hex(digest, hex);
        CHECK(strcmp(hex, whole) == 0);
    }
}

/* The file digest equals what sha256sum (coreutils) prints for it. */
static void check_file_against_sha256sum(const char *tmp)
{
    char path[4096], command[8300], expected[65] = "", hex[65];
    snprintf(path, sizeof path, "%s/sha256_input.bin", tmp);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    for (int i = 0; i < 100000; i++) fputc((i * 131) & 255, f);
    fclose(f);
    snprintf(command, sizeof command, "sha256sum '%s'", path);
    FILE *pipe = popen(command, "r");
    CHECK(pipe != NULL);
    if (!pipe) return;
    CHECK(fscanf(pipe, "%64s", expected) == 1);
    pclose(pipe);
    CHECK_OK(dlp_sha256_file(path, hex));
    CHECK(strcmp(hex, expected) == 0);
    CHECK_FAILS(dlp_sha256_file("/nonexistent/file", hex), DLP_ERR_IO, "/nonexistent/file");
}

int main(void)
{
    check_vector("", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_vector("abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_vector("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_vector("a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    check_split_updates();
    const char *tmp = getenv("DLP_TEST_TMP");
    check_file_against_sha256sum(tmp ? tmp : "/tmp");
    return check_summary("sha256");
}
