"""imagenet_oracle.py: Keras' decode_predictions (tf-keras 2.18) on the five
zoo models with dlp-synth-v1 weights, for the ImageNet predictor
(include/dlp/predictor.h) to match.

decode_predictions runs offline: tf-keras' get_file looks in ~/.keras/models
(it ignores KERAS_HOME), so HOME points at a temporary folder whose
.keras/models/imagenet_class_index.json is the committed data/imagenet_class_index.json;
Keras' get_file checks its MD5 against the hash Keras pins before using it.

Synthetic weights give large logits, so the softmax often saturates (probability
1.0, then exact 0.0 ties whose order is numpy's argsort's choice, not the
model's). The inputs are therefore chosen: candidates are the three fixture
photos, preprocessed as Keras does, times 2^-k for k in 0, 2, 4, 6 (exact in
float32, so C rebuilds the same tensor); per model the three candidates with
the most determined ranks are kept (ties: the earlier candidate). Rank r of
the top 5 is "determined" when the float64 logit gap to both neighbours
(r-1 and r+1, the 6th included) is at least MARGIN * max|logit| and its
probability is a normal float32 (>= 1e-30), so that float32 rounding and the
~1e-6 relative logit error of a faithful implementation cannot reorder it.
Candidates are also preferred when their top-5 probabilities are insensitive
to that error: sensitivity = max_r p_r (1 - p_r) * 1e-6 max|logit| (the change
of p_r when the logit gaps move by 1e-6 max|logit|) at most 1e-5, a tenth of
the 1e-4 * ||p||_2 the C test allows (VGG16 on "coffee" at scale 1 has top-2
logits 524.65 / 524.29: sensitivity 1.3e-4, and Keras' own probability moves
by 1.0e-4 between batch compositions there).

Writes tests/fixtures/imagenet/decode_predictions.json and
tests/fixtures/imagenet/probabilities.npy (float32 [models x 3, 1000], Keras'
softmax for each chosen input, rows in the json's order).
Run with the oracle venv: tests/oracle/run.sh VENV imagenet_oracle.py
"""
import hashlib
import inspect
import json
import os
import re
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
KERAS_HOME = tempfile.mkdtemp(prefix="dlp-keras-home-")
os.environ["HOME"] = KERAS_HOME
os.environ["KERAS_HOME"] = os.path.join(KERAS_HOME, ".keras")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras.src.applications import imagenet_utils  # noqa: E402

import keras_oracle  # noqa: E402
import synth  # noqa: E402

ROOT = keras_oracle.ROOT
FIXTURES = keras_oracle.FIXTURES
CLASS_INDEX = os.path.join(ROOT, "data", "imagenet_class_index.json")
SCALE_EXPONENTS = [0, 2, 4, 6]
MARGIN = 1e-4  # logit gap / max|logit|: 100x the ~1e-6 relative logit error measured for the zoo
NORMAL_FLOOR = 1e-30
LOGIT_ERROR = 1e-6  # relative logit error of a faithful float32 implementation (zoo suites: <= 9.6e-7)
SENSITIVITY_LIMIT = 1e-5
KEEP = 3
NAMES = {"inception_v3": "InceptionV3", "xception": "Xception", "resnet50": "ResNet50", "vgg16": "VGG16",
         "vgg19": "VGG19"}


def keras_pinned_md5():
    """The file_hash decode_predictions passes to get_file, read from Keras' source."""
    source = inspect.getsource(imagenet_utils.decode_predictions)
    return re.search(r'file_hash="([0-9a-f]{32})"', source).group(1)


def install_class_index():
    models = os.path.join(KERAS_HOME, ".keras", "models")
    os.makedirs(models, exist_ok=True)
    shutil.copyfile(CLASS_INDEX, os.path.join(models, "imagenet_class_index.json"))
    with open(CLASS_INDEX, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def determined_ranks(logits, probs):
    order = np.argsort(-logits, kind="stable")[:6]
    z = logits[order]
    threshold = MARGIN * np.abs(logits).max()
    determined = []
    for r in range(5):
        above = r == 0 or z[r - 1] - z[r] >= threshold
        below = z[r] - z[r + 1] >= threshold
        determined.append(bool(above and below and probs[order[r]] >= NORMAL_FLOOR))
    return order, z, threshold, determined


def run_model(fixture, index_by_wnid):
    started = time.time()
    spec = keras_oracle.MODELS[fixture]
    keras.backend.clear_session()
    model = spec["ctor"]()
    synth.assign(model)
    pixels = keras_oracle.load_photos(spec["size"])
    base = spec["preprocess"](pixels.astype(np.float32).copy())
    candidates, inputs = [], []
    for k in SCALE_EXPONENTS:
        for i, photo in enumerate(keras_oracle.PHOTOS):
            candidates.append((photo, k))
            inputs.append(base[i] * np.float32(2.0 ** -k))
    x = np.stack(inputs)
    probe = keras.Model(model.inputs, [model.layers[-2].output, model.layers[-1].output])
    pre, probs = probe.predict(x, batch_size=4, verbose=0)
    w, b = [v.astype(np.float64) for v in model.layers[-1].get_weights()]
    logits = pre.reshape(len(x), -1).astype(np.float64) @ w + b
    scored = []
    for c in range(len(x)):
        order, z, threshold, determined = determined_ranks(logits[c], probs[c])
        p = probs[c][order[:5]].astype(np.float64)
        sensitivity = float((p * (1 - p)).max() * LOGIT_ERROR * np.abs(logits[c]).max())
        scored.append((c, sum(determined), order, z, threshold, determined, sensitivity))
    chosen = sorted(scored, key=lambda s: (-s[1], s[6] > SENSITIVITY_LIMIT, s[0]))[:KEEP]
    chosen.sort(key=lambda s: s[0])
    decoded = imagenet_utils.decode_predictions(probs[[s[0] for s in chosen]], top=5)
    entries = []
    for (c, count, order, z, threshold, determined, sensitivity), top in zip(chosen, decoded):
        photo, k = candidates[c]
        entries.append({
            "photo": photo, "scale_exponent": k, "scale": 2.0 ** -k,
            "decode_predictions": [[wnid, name, float("%.9g" % score)] for wnid, name, score in top],
            "class_ids": [index_by_wnid[wnid] for wnid, _, _ in top],
            "determined": determined,
            "logit_order_top6": [int(j) for j in order],
            "logits_top6": [float("%.17g" % v) for v in z],
            "probabilities_top6": [float("%.9g" % probs[c][j]) for j in order],
            "logit_gap_threshold": float("%.9g" % threshold),
            "probability_sensitivity": float("%.9g" % sensitivity),
            "probability_l2": float("%.17g" % np.sqrt((probs[c].astype(np.float64) ** 2).sum())),
        })
    summary = [{"photo": candidates[c][0], "scale_exponent": candidates[c][1], "determined_ranks": n,
                "probability_sensitivity": float("%.3g" % sens)} for c, n, _, _, _, _, sens in scored]
    print("%s: kept %s, determined ranks %s, sensitivity %s (%.1f s)"
          % (fixture, ["%s/2^-%d" % (e["photo"], e["scale_exponent"]) for e in entries],
             [sum(e["determined"]) for e in entries], ["%.2g" % e["probability_sensitivity"] for e in entries],
             time.time() - started), file=sys.stderr)
    return entries, probs[[s[0] for s in chosen]], summary


def main():
    md5 = install_class_index()
    pinned = keras_pinned_md5()
    assert md5 == pinned, "data/imagenet_class_index.json MD5 %s, Keras pins %s" % (md5, pinned)
    with open(CLASS_INDEX) as f:
        index = json.load(f)
    index_by_wnid = {wnid: int(i) for i, (wnid, _) in index.items()}
    models, rows = {}, []
    for fixture in ["inception_v3", "xception", "resnet50", "vgg16", "vgg19"]:
        entries, probs, summary = run_model(fixture, index_by_wnid)
        spec = keras_oracle.MODELS[fixture]
        models[fixture] = {"name": NAMES[fixture], "size": spec["size"], "preprocess": spec["mode"],
                           "first_row": len(rows), "inputs": entries, "candidates": summary}
        rows.extend(probs)
    doc = {
        "producer": "tests/oracle/imagenet_oracle.py: tf-keras %s decode_predictions on TensorFlow %s, NumPy %s, CPU"
                    % (keras.__version__, tf.__version__, np.__version__),
        "class_index": {"file": "data/imagenet_class_index.json", "md5": md5, "keras_pinned_md5": pinned},
        "weights": "dlp-synth-v1 (tests/oracle/synth.py) on keras.applications MODEL(weights=None)",
        "inputs_doc": "Keras preprocess_input of the fixture photo (as keras_oracle.py) times scale = 2^-scale_exponent",
        "margin": MARGIN,
        "margin_doc": "rank r is determined when its float64 logit is at least margin * max|logit| from ranks r-1 "
                      "and r+1 and its probability >= 1e-30",
        "sensitivity_doc": "max over the top 5 of p (1 - p) * %g max|logit|; inputs with it <= %g preferred"
                           % (LOGIT_ERROR, SENSITIVITY_LIMIT),
        "probabilities_file": "probabilities.npy",
        "models": models,
    }
    out = os.path.join(FIXTURES, "imagenet")
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "probabilities.npy"), np.asarray(rows, dtype="<f4"))
    with open(os.path.join(out, "decode_predictions.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    shutil.rmtree(KERAS_HOME, ignore_errors=True)


if __name__ == "__main__":
    main()
