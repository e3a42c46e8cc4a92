/* SHA-256 against the FIPS 180-2 Appendix B example vectors, file hashes
 * against the sha256sum tool (coreutils) at every padding boundary, and 404
 * messages of 0..4 MiB against Python's hashlib (tests/fixtures/sha256, from
 * tests/oracle/sha256_oracle.py) fed in random-sized chunks. Every check runs
 * once per block compressor this CPU has (portable; SHA-NI on x86), and the
 * two paths' digests are compared with each other as well. */
#include <inttypes.h>
#include <pthread.h>
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

/* The oracle's generator (sha256_oracle.py message()): a 64-bit LCG, each
 * byte the top byte of the state after one step. */
static void fill_message(unsigned char *bytes, size_t length, uint64_t seed)
{
    uint64_t state = seed;
    for (size_t i = 0; i < length; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        bytes[i] = (unsigned char)(state >> 56);
    }
}

/* Chunk sizes for update: zero-length, sub-block, a few blocks, and large. */
static size_t next_chunk_bytes(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    uint32_t r = *state >> 8;
    switch (r % 4) {
    case 0: return r % 8;        /* 0..7 */
    case 1: return r % 64;       /* within a block */
    case 2: return r % 300;      /* crosses a few blocks */
    default: return r % 100000;  /* many blocks at once */
    }
}

static void digest_hex(const unsigned char digest[32], char hex[65])
{
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* One message hashed whole and in random chunks; both must give expected. */
static void check_message(const unsigned char *bytes, size_t length, const char *expected, uint32_t chunk_seed,
                          char whole_hex[65])
{
    dlp_sha256_hex(bytes, length, whole_hex);
    dlp_sha256 hash;
    dlp_sha256_init(&hash);
    uint32_t chunk_state = chunk_seed;
    size_t fed = 0;
    while (fed < length) {
        size_t take = next_chunk_bytes(&chunk_state);
        if (take > length - fed) take = length - fed;
        dlp_sha256_update(&hash, bytes + fed, take);
        fed += take;
    }
    unsigned char digest[32];
    char chunked_hex[65];
    dlp_sha256_final(&hash, digest);
    digest_hex(digest, chunked_hex);
    CHECK(strcmp(whole_hex, expected) == 0);
    CHECK(strcmp(chunked_hex, expected) == 0);
    if (strcmp(whole_hex, expected) || strcmp(chunked_hex, expected))
        fprintf(stderr, "  %zu bytes (%s): whole %s, chunked %s, hashlib %s\n", length,
                dlp_sha256_path_name(dlp_sha256_path_in_use()), whole_hex, chunked_hex, expected);
}

#define MAX_CASES 512

/* Digests of the hashlib cases, per path, so the paths can be compared too. */
static char case_hex[2][MAX_CASES][65];

static size_t check_hashlib_cases(const char *fixtures, int path_index)
{
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/sha256/cases.txt", fixtures);
    FILE *file = fopen(path, "r");
    CHECK(file != NULL);
    if (!file) return 0;
    size_t cases = 0;
    while (fgets(line, sizeof line, file)) {
        size_t length;
        uint64_t seed;
        char expected[65];
        if (line[0] == '#') continue;
        CHECK(sscanf(line, "%zu %" SCNu64 " %64s", &length, &seed, expected) == 3);
        CHECK(cases < MAX_CASES);
        if (cases >= MAX_CASES) break;
        unsigned char *bytes = malloc(length ? length : 1);
        fill_message(bytes, length, seed);
        check_message(bytes, length, expected, (uint32_t)seed, case_hex[path_index][cases]);
        free(bytes);
        cases++;
    }
    fclose(file);
    CHECK(cases == 404);
    return cases;
}

/* Whether /proc/cpuinfo lists sha_ni (Linux, x86): then the SHA-NI path must
 * be available, so a broken CPUID check cannot pass as "CPU lacks it". */
static int cpuinfo_lists_sha_ni(void)
{
    FILE *file = fopen("/proc/cpuinfo", "r");
    if (!file) return 0;
    char line[8192];
    int found = 0;
    while (!found && fgets(line, sizeof line, file))
        if (strncmp(line, "flags", 5) == 0 && strstr(line, " sha_ni")) found = 1;
    fclose(file);
    return found;
}

/* The path a fresh process picks with DLP_SHA256_PORTABLE set to value (NULL:
 * unset), from this binary re-run with --print-path; its threads' first
 * hashes, made together, must be right. */
static void check_environment_choice(const char *value, const char *expected)
{
    char self[4096], command[4400], got[32] = {0}, hashes[32] = {0};
    ssize_t self_bytes = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(self_bytes > 0);
    if (self_bytes <= 0) return;
    self[self_bytes] = 0;
    if (value)
        snprintf(command, sizeof command, "DLP_SHA256_PORTABLE='%s' '%s' --print-path", value, self);
    else
        snprintf(command, sizeof command, "env -u DLP_SHA256_PORTABLE '%s' --print-path", self);
    FILE *child = popen(command, "r");
    CHECK(child != NULL);
    if (!child) return;
    CHECK(fscanf(child, "%31s %31s", got, hashes) == 2);
    pclose(child);
    CHECK(strcmp(got, expected) == 0);
    CHECK(strcmp(hashes, "right") == 0);
    if (strcmp(got, expected) || strcmp(hashes, "right"))
        fprintf(stderr, "  DLP_SHA256_PORTABLE=%s: path %s (expected %s), threads' hashes %s\n",
                value ? value : "(unset)", got, expected, hashes);
}

static void check_path(dlp_sha256_path path, int path_index, const char *tmp, const char *fixtures)
{
    CHECK_OK(dlp_sha256_use_path(path));
    CHECK(dlp_sha256_path_in_use() == path);
    check_vector("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_vector("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_vector("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_vector("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrs"
                 "tnopqrstu",
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    check_million_a();
    static const size_t lengths[] = {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 65535, 65536, 65537, 200003};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) check_file_against_tool(tmp, lengths[i]);
    size_t cases = check_hashlib_cases(fixtures, path_index);
    printf("sha256: %s path: FIPS vectors, sha256sum files and %zu hashlib cases checked\n",
           dlp_sha256_path_name(path), cases);
}

/* The child's threads: all hash at once, so the first use (the path choice)
 * happens in several threads together, as in the featurizer. */
#define FIRST_USE_THREADS 8
static pthread_barrier_t first_use_barrier;

static void *hash_abc_at_once(void *result)
{
    char hex[65];
    pthread_barrier_wait(&first_use_barrier);
    dlp_sha256_hex("abc", 3, hex);
    *(int *)result = strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0;
    return NULL;
}

/* Child mode (check_environment_choice): prints the path this process chose
 * and whether every thread's first hash was right. */
static int print_path_after_threaded_first_use(void)
{
    pthread_t threads[FIRST_USE_THREADS];
    int right[FIRST_USE_THREADS] = {0}, all_right = 1;
    pthread_barrier_init(&first_use_barrier, NULL, FIRST_USE_THREADS);
    for (int i = 0; i < FIRST_USE_THREADS; i++) pthread_create(&threads[i], NULL, hash_abc_at_once, &right[i]);
    for (int i = 0; i < FIRST_USE_THREADS; i++) {
        pthread_join(threads[i], NULL);
        all_right &= right[i];
    }
    pthread_barrier_destroy(&first_use_barrier);
    printf("%s %s\n", dlp_sha256_path_name(dlp_sha256_path_in_use()), all_right ? "right" : "wrong");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--print-path") == 0) return print_path_after_threaded_first_use();
    const char *tmp = check_env("DLP_TEST_TMP");
    const char *fixtures = check_env("DLP_FIXTURES");
    check_path(DLP_SHA256_PATH_PORTABLE, 0, tmp, fixtures);

    dlp_status sha_ni = dlp_sha256_use_path(DLP_SHA256_PATH_SHA_NI);
    if (sha_ni == DLP_OK) {
        check_path(DLP_SHA256_PATH_SHA_NI, 1, tmp, fixtures);
        for (int i = 0; i < 404; i++) CHECK(strcmp(case_hex[0][i], case_hex[1][i]) == 0);
    } else {
        CHECK(sha_ni == DLP_ERR_UNSUPPORTED);
        printf("sha256: sha-ni path not tested: %s\n", dlp_last_error());
    }
    CHECK((sha_ni == DLP_OK) == cpuinfo_lists_sha_ni());
    CHECK(dlp_sha256_use_path((dlp_sha256_path)7) == DLP_ERR_INVALID_ARGUMENT);

    const char *best = sha_ni == DLP_OK ? "sha-ni" : "portable";
    check_environment_choice(NULL, best);
    check_environment_choice("0", best);
    check_environment_choice("", best);
    check_environment_choice("1", "portable");

    char hex[65];
    CHECK_FAILS(dlp_sha256_file("/nonexistent/weights.h5", hex), DLP_ERR_IO, "/nonexistent/weights.h5");
    return check_summary("sha256");
}
