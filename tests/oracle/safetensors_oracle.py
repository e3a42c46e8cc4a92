"""Fixtures for the safetensors reader/writer, from the reference `safetensors` package (pinned).

Writes tests/fixtures/safetensors/reference.safetensors with safetensors.numpy.save_file and
expected.json with every tensor's dtype, shape and values, and the metadata. If the unit test has
run before (build/test-tmp/safetensors/dlp_written.safetensors exists), it also loads that file,
written by dlp's writer, with the reference package and records the verdict in
python_reads_dlp.json, so `make oracle` re-verifies that files dlp writes load in Python.
"""
import hashlib
import json
import os

import numpy as np
from safetensors.numpy import load_file, save_file

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
out = os.path.join(os.environ.get("DLP_FIXTURES", os.path.join(root, "tests", "fixtures")), "safetensors")
os.makedirs(out, exist_ok=True)

rng = np.random.default_rng(7)
tensors = {
    "conv/kernel": rng.standard_normal((3, 3, 2, 4)).astype(np.float32),
    "conv/bias": np.array([-0.0, 1e-30, 3.5, -2.25], dtype=np.float32),
    "half": np.array([0.5, -1.0, 65504.0, 6e-8, 0.0], dtype=np.float16),
    "double": np.array([[1.0 / 3.0, -1e300], [2.0, 0.0]], dtype=np.float64),
    "ids": np.array([-(2**62), 0, 7, 2**40], dtype=np.int64),
    "bytes": np.arange(11, dtype=np.uint8),
    "scalar": np.array(42, dtype=np.int32),
    "empty": np.zeros((0, 5), dtype=np.float32),
}
metadata = {"format": "np", "architecture": "test", "note": "h\u00e9llo \"quoted\""}
path = os.path.join(out, "reference.safetensors")
save_file(tensors, path, metadata=metadata)

dtype_names = {np.float32: "F32", np.float16: "F16", np.float64: "F64", np.int64: "I64", np.uint8: "U8", np.int32: "I32"}
expected = {
    "metadata": metadata,
    "tensors": {
        name: {
            "dtype": dtype_names[array.dtype.type],
            "shape": list(array.shape),
            # The exact bytes: the C test compares them, no float parsing involved.
            "hex": array.astype(array.dtype.newbyteorder("<")).tobytes().hex(),
        }
        for name, array in tensors.items()
    },
}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)

written = os.path.join(root, "build", "test-tmp", "safetensors", "dlp_written.safetensors")
if os.path.exists(written):
    loaded = load_file(written)
    ok = set(loaded) == set(tensors) and all(
        loaded[k].dtype == tensors[k].dtype and loaded[k].shape == tensors[k].shape
        and loaded[k].tobytes() == tensors[k].tobytes() for k in tensors)
    with open(written, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(out, "python_reads_dlp.json"), "w") as f:
        json.dump({"file_sha256": digest, "safetensors_version": __import__("safetensors").__version__,
                   "all_tensors_equal": ok}, f, indent=1)
    print("python reads dlp's file:", ok)
