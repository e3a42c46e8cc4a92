"""resize_oracle.py: fixtures for tests/unit/test_image_resize.c, computed by
TensorFlow's tf.image.resize (antialias=False) and Keras' preprocess_input.
Inputs: random uint8 images of odd sizes (stored raw) and crops of the
committed photos tests/fixtures/images/*_224.png (decoded by the test itself).
Outputs: float32 raw files; for large outputs only every ROW_STEP-th row plus
the float64 sum of every row (9 digits), to keep the fixtures small. Re-runnable; writes
tests/fixtures/resize/."""
import json
import os

import numpy as np
import tensorflow as tf
from PIL import Image
from tf_keras.applications import imagenet_utils

fixtures = os.environ.get("DLP_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures"))
out_dir = os.path.join(fixtures, "resize")
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(20261126)
METHODS = {"area": "area", "bilinear": "bilinear", "nearest": "nearest"}
ROWS_KEPT = 3  # outputs taller than 16 rows keep this many rows (and every row sum)

cases = []


def resize(image, out_h, out_w, method):
    return tf.image.resize(tf.constant(image[None]), [out_h, out_w], method=method, antialias=False)[0]


def add_case(name, image, out_h, out_w, source):
    in_h, in_w, _ = image.shape
    rows = list(range(out_h)) if out_h <= 16 else list(range(0, out_h, out_h // ROWS_KEPT + 1))
    case = {"name": name, "source": source, "in": [in_h, in_w], "out": [out_h, out_w], "rows": rows, "methods": {}}
    if source["kind"] == "raw":
        image.astype(np.uint8).tofile(os.path.join(out_dir, name + "_in.u8"))
    for method in METHODS:
        f = resize(image, out_h, out_w, method)
        as_float = tf.cast(f, tf.float32).numpy()
        as_u8 = tf.saturate_cast(tf.round(as_float), tf.uint8).numpy()
        as_float[rows].astype("<f4").tofile(os.path.join(out_dir, f"{name}_{method}.f32"))
        as_u8[rows].tofile(os.path.join(out_dir, f"{name}_{method}.u8"))
        entry = {"f32": f"{name}_{method}.f32", "u8": f"{name}_{method}.u8",
                 "row_sums": [float("%.9g" % s) for s in as_float.astype(np.float64).sum(axis=(1, 2))]}
        if method == "area" and out_h <= 16:
            # Keras' preprocess_input on the float resize result (float32 NumPy).
            for mode in ("tf", "caffe"):
                normalized = imagenet_utils.preprocess_input(as_float.copy(), mode=mode)
                normalized.astype("<f4").tofile(os.path.join(out_dir, f"{name}_{method}_{mode}.f32"))
                entry[mode] = f"{name}_{method}_{mode}.f32"
        case["methods"][method] = entry
    cases.append(case)


# Random images: down, up, mixed, identity, extreme ratios.
for name, (in_h, in_w), (out_h, out_w) in [
    ("down_17x23_7x5", (17, 23), (7, 5)),
    ("up_5x4_13x11", (5, 4), (13, 11)),
    ("mixed_9x31_20x6", (9, 31), (20, 6)),
    ("same_6x7_6x7", (6, 7), (6, 7)),
    ("one_1x1_3x2", (1, 1), (3, 2)),
    ("thin_40x3_1x1", (40, 3), (1, 1)),
    ("odd_37x29_11x13", (37, 29), (11, 13)),
]:
    image = rng.integers(0, 256, size=(in_h, in_w, 3), dtype=np.uint8)
    add_case(name, image, out_h, out_w, {"kind": "raw"})

# Photo crops to the network sizes (the committed 224x224 PNGs).
for name, png, crop, (out_h, out_w) in [
    ("chelsea_299", "chelsea_224.png", [0, 0, 224, 224], (299, 299)),
    ("coffee_crop_299", "coffee_224.png", [20, 5, 180, 214], (299, 299)),
    ("astronaut_crop_53x61", "astronaut_224.png", [10, 30, 150, 170], (53, 61)),
]:
    full = np.asarray(Image.open(os.path.join(fixtures, "images", png)).convert("RGB"))
    y, x, h, w = crop
    add_case(name, full[y:y + h, x:x + w], out_h, out_w, {"kind": "png", "file": "images/" + png, "crop": crop})

with open(os.path.join(out_dir, "cases.json"), "w") as f:
    json.dump({"tensorflow": tf.__version__, "cases": cases}, f)
print(f"resize: {len(cases)} cases in {out_dir}")
