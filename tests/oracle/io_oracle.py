"""io_oracle.py: fixtures for tests/unit/test_io.c, written by the references
themselves: NumPy's np.save / numpy.lib.format (.npy), scikit-learn's
dump_svmlight_file (LibSVM), Python's csv module (RFC 4180 quoting) and json
module (string escapes). Re-runnable; writes tests/fixtures/io/."""
import csv
import io
import json
import os

import numpy as np

np.seterr(over="ignore")  # 1e300 -> inf when cast to float32 is the point
import sklearn
from sklearn.datasets import dump_svmlight_file

out_dir = os.path.join(os.environ.get("DLP_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures")), "io")
os.makedirs(out_dir, exist_ok=True)
expected = {"numpy": np.__version__, "sklearn": sklearn.__version__}


def bits32(array):
    """float32 values as uint32 bit patterns (exact, NaN-safe)."""
    return [int(b) for b in np.ascontiguousarray(array, dtype=np.float32).reshape(-1).view(np.uint32)]


def save(name, array, **kwargs):
    path = os.path.join(out_dir, name)
    if kwargs:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, array, **kwargs)
    else:
        np.save(path, array)


# --- .npy files np.load reads; what we must read the same ---
special = [0.0, -0.0, 1e-30, -1e-30, 1e-45, 1.17549421e-38, 3.4028235e38, -3.4028235e38, 1.5, -2.25,
           np.float32(0.1), np.inf, -np.inf, np.nan, 123456.789]
f32 = np.array(special, dtype=np.float32).reshape(3, 5)
save("f32_3x5.npy", f32)
f64 = np.array([0.1, -0.0, 1e-30, 5e-324, 1e300, -1e300, 2.5, np.pi, 1e-40, -7.0, 65504.0, 1 / 3],
               dtype=np.float64).reshape(4, 3)
save("f64_4x3.npy", f64)
vector = np.arange(7, dtype=np.float32) - 3.5
save("f32_vector7.npy", vector)
save("f32_v2_2x3.npy", np.arange(6, dtype=np.float32).reshape(2, 3), version=(2, 0))
save("f32_empty_0x4.npy", np.zeros((0, 4), dtype=np.float32))
expected["npy_read"] = {
    "f32_3x5.npy": {"rows": 3, "cols": 5, "bits": bits32(np.load(os.path.join(out_dir, "f32_3x5.npy")))},
    "f64_4x3.npy": {"rows": 4, "cols": 3,
                    "bits": bits32(np.load(os.path.join(out_dir, "f64_4x3.npy")).astype(np.float32))},
    "f32_vector7.npy": {"rows": 7, "cols": 1, "bits": bits32(np.load(os.path.join(out_dir, "f32_vector7.npy")))},
    "f32_v2_2x3.npy": {"rows": 2, "cols": 3, "bits": bits32(np.load(os.path.join(out_dir, "f32_v2_2x3.npy")))},
    "f32_empty_0x4.npy": {"rows": 0, "cols": 4, "bits": []},
}

# --- .npy files we must refuse ---
save("fortran_2x3.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
save("bigendian_2x3.npy", np.arange(6, dtype=">f4").reshape(2, 3))
save("int32_2x3.npy", np.arange(6, dtype=np.int32).reshape(2, 3))
save("f32_3d.npy", np.zeros((2, 2, 2), dtype=np.float32))
good = open(os.path.join(out_dir, "f32_3x5.npy"), "rb").read()
open(os.path.join(out_dir, "truncated_3x5.npy"), "wb").write(good[:-6])
open(os.path.join(out_dir, "trailing_3x5.npy"), "wb").write(good + b"\0\0\0\0")
expected["npy_refused"] = {"fortran_2x3.npy": "fortran", "bigendian_2x3.npy": "big-endian",
                           "int32_2x3.npy": "<i4", "f32_3d.npy": "3-dimensional",
                           "truncated_3x5.npy": "truncated", "trailing_3x5.npy": "after"}

# --- the exact bytes np.save writes for arrays our writer must reproduce ---
writes = {}
for name, array in [("write_4x6.npy", (np.arange(24, dtype=np.float32).reshape(4, 6) - 11.5) / 3),
                    ("write_1x1.npy", np.array([[-0.0]], dtype=np.float32)),
                    ("write_0x3.npy", np.zeros((0, 3), dtype=np.float32)),
                    ("write_150x2.npy", np.linspace(-1, 1, 300, dtype=np.float32).reshape(150, 2))]:
    save(name, array)
    writes[name] = {"rows": array.shape[0], "cols": array.shape[1], "bits": bits32(array)}
expected["npy_write"] = writes

# --- LibSVM by scikit-learn (one-based, as Spark) ---
rng = np.random.default_rng(7)
X = rng.standard_normal((6, 9))
X[rng.random((6, 9)) < 0.5] = 0.0
X[2, :] = 0.0
X[0, 8] = 1e-30
X[1, 0] = -3.5e20
y = np.array([0.0, 1.0, 2.0, 1.0, 0.0, 3.5])
dump_svmlight_file(X, y, os.path.join(out_dir, "sklearn.svm"), zero_based=False)
dump_svmlight_file(X, y, os.path.join(out_dir, "sklearn_comment.svm"), zero_based=False,
                   comment="written by scikit-learn for dlp's tests")
expected["libsvm"] = {"rows": 6, "cols": 9, "bits": bits32(X.astype(np.float32)), "labels": y.tolist()}

# --- CSV quoting (Python's csv, QUOTE_MINIMAL, "\n" line ends) ---
rows = [
    {"origin": "plain/a.png", "label": 3, "status": "ok", "message": ""},
    {"origin": "with,comma.png", "label": -1, "status": "ok", "message": ""},
    {"origin": "with \"quote\".jpg", "label": 0, "status": "format", "message": "bad \"magic\", got 0x00"},
    {"origin": "new\nline.png", "label": 12, "status": "i/o", "message": "line1\nline2"},
    {"origin": "caf\u00e9 \u732b.png", "label": 1, "status": "ok", "message": ""},
]
buffer = io.StringIO()
writer = csv.writer(buffer, lineterminator="\n")
writer.writerow(["origin", "label", "status", "message"])
for r in rows:
    writer.writerow([r["origin"], "" if r["label"] < 0 else str(r["label"]), r["status"], r["message"]])
expected["csv"] = {"rows": rows, "text": buffer.getvalue()}
assert list(csv.reader(io.StringIO(buffer.getvalue())))[4][0] == "new\nline.png"

# --- JSON string escapes: json.dumps(ensure_ascii=False); invalid UTF-8 as Python's 'replace' decoding ---
inputs = [b"plain", b'quote " and backslash \\', b"\x01\x07\x08\x09\x0a\x0b\x0c\x0d\x1b\x1f\x7f",
          "caf\u00e9 \u732b \U0001F600 \u2028".encode(), b"bad \xff byte", b"\xc0\x80 overlong", b"\xed\xa0\x80 surrogate",
          b"cut \xe2\x82", b"cut4 \xf0\x9f\x98", b"\xf4\x90\x80\x80 above", b"\x80\x80 lone", b""]
expected["json_strings"] = [{"hex": s.hex(), "json": json.dumps(s.decode("utf-8", "replace"), ensure_ascii=False)}
                            for s in inputs]

# --- JSON Lines rows, as the object a JSON parser must read back ---
expected["jsonl"] = [
    {"origin": "a/\"b\".png", "label": 2, "status": "ok", "message": "", "label_name": "cat", "field": "features",
     "values_bits": bits32(np.array([0.1, -0.0, 1e-30, 3.4028235e38, np.nan, np.inf], np.float32)),
     "object": {"origin": "a/\"b\".png", "label": 2, "label_name": "cat", "status": "ok", "error": None,
                "features": [float(np.float32(0.1)), -0.0, float(np.float32(1e-30)), float(np.float32(3.4028235e38)),
                             None, None]}},
    {"origin": "missing.jpg", "label": -1, "status": "i/o", "message": "missing.jpg: No such file",
     "label_name": None, "field": "probability", "values_bits": None,
     "object": {"origin": "missing.jpg", "label": None, "status": "error", "error": "i/o: missing.jpg: No such file",
                "probability": None}},
]

with open(os.path.join(out_dir, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, ensure_ascii=False)
    f.write("\n")
print("io_oracle: wrote", out_dir)
