"""sha256_oracle.py: digests for tests/unit/test_sha256.c, written by Python's
hashlib (OpenSSL's SHA-256). Each case is a message of `length` bytes from the
generator below, which the test reproduces in C; the test hashes it through
both of dlp's compressors (portable, SHA-NI) in random-sized update chunks.
Re-runnable; writes tests/fixtures/sha256/cases.txt."""
import hashlib
import os
import random

out_dir = os.path.join(os.environ.get("DLP_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures")),
                       "sha256")
os.makedirs(out_dir, exist_ok=True)

MASK64 = (1 << 64) - 1


def message(length, seed):
    """The test's generator: a 64-bit LCG (Knuth's MMIX constants); each byte is
    the top byte of the state after one step."""
    state = seed
    out = bytearray(length)
    for i in range(length):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK64
        out[i] = state >> 56
    return bytes(out)


rng = random.Random(2026)
# Every length up to 200 (each padding case: 55/56 bytes left, one or two
# final blocks, whole-block messages), 200 random lengths up to 10,000, and a
# few big ones (an exact multiple of the 64 KiB file buffer, odd tails).
lengths = list(range(201)) + [rng.randint(0, 10000) for _ in range(200)] + [1048577, 3145721, 4194304]
with open(os.path.join(out_dir, "cases.txt"), "w") as f:
    f.write("# length seed sha256 (hashlib); the bytes: tests/oracle/sha256_oracle.py message()\n")
    for length in lengths:
        seed = rng.getrandbits(64)
        f.write("%d %d %s\n" % (length, seed, hashlib.sha256(message(length, seed)).hexdigest()))
print("sha256: %d cases" % len(lengths))
