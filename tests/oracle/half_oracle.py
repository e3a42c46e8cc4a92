"""half_oracle.py: fixture for tests/unit/test_cuda_host.c's float -> fp16 and
float -> bf16 conversion (the weights of fp16/bf16 CUDA plans), computed by
NumPy's float16 and ml_dtypes' bfloat16 (the type TensorFlow uses), both round
to nearest even. Inputs: hand-picked edges (ties, the overflow threshold,
subnormal boundaries, infinities, NaN) and random bit patterns over every
exponent. Writes tests/fixtures/half/conversions.bin:
uint32 count, float32[count] inputs, uint16[count] fp16 bits, uint16[count] bf16 bits (little endian)."""
import os

import ml_dtypes
import numpy as np

fixtures = os.environ.get("DLP_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures"))
out_dir = os.path.join(fixtures, "half")
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(20261126)

edges = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.996, 65520.0, 65536.0, 1e10, -1e10, np.inf, -np.inf, np.nan,
         2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * 1.0001, 3 * 2.0 ** -26, 2.0 ** -26, 1.5 * 2.0 ** -24,
         2.5 * 2.0 ** -24, 2.0 ** -14 - 2.0 ** -25, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8,
         3.4028235e38, 1e-45, 0.1, 1 / 3, 123.456, -7.25e-6]
edges = np.array(edges, dtype=np.float32)
bits = rng.integers(0, 2 ** 32, size=3000, dtype=np.uint64).astype(np.uint32)
# Half the patterns with exponents near fp16's range (2^-30 .. 2^17), where rounding matters most.
exponents = rng.integers(127 - 30, 127 + 17, size=1500).astype(np.uint32)
bits[:1500] = (bits[:1500] & np.uint32(0x807FFFFF)) | (exponents << np.uint32(23))
values = np.concatenate([edges, bits.view(np.float32)])
half = values.astype(np.float16).view(np.uint16)
bf16 = values.astype(ml_dtypes.bfloat16).view(np.uint16)
with open(os.path.join(out_dir, "conversions.bin"), "wb") as f:
    f.write(np.uint32(len(values)).tobytes())
    f.write(values.astype("<f4").tobytes())
    f.write(half.astype("<u2").tobytes())
    f.write(bf16.astype("<u2").tobytes())
print("half: %d values" % len(values))
