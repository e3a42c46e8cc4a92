"""keras_oracle.py: Keras (tf-keras 2.18, Keras 2 semantics as sparkdl used)
reference outputs of the five zoo models with dlp-synth-v1 weights on three
real photos, for the C model builders to match (DESIGN.md sections 3, 4, 8).

Writes, per model M in inception_v3, xception, resnet50, vgg16, vgg19:
  tests/fixtures/keras/M.json          index: inputs, top-5, checksums of the
                                       featurizer output and of every stage
  tests/fixtures/keras/M.bin           float32 little-endian arrays named in
                                       M.json "arrays" (offset_bytes, shape)
  tests/fixtures/keras/weight_order_M.json  Keras' weight list: [k, layer, slot, shape]
and tests/fixtures/images/<photo>_224.png, the photos as the 224 models see them.
Run with the oracle venv: tests/oracle/run.sh VENV keras_oracle.py
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from PIL import Image  # noqa: E402

import synth  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURES = os.environ.get("DLP_FIXTURES", os.path.join(ROOT, "tests", "fixtures"))
SHARED = os.environ.get("DLP_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
PHOTOS = ["astronaut", "chelsea", "coffee"]
# Fixed offsets (into the flattened NHWC featurizer output of one image) of the
# 16-value slices: start, a prime in the middle, and the end.
SLICE_STARTS = [0, 50021, -16]

MODELS = {
    "inception_v3": dict(ctor=lambda: keras.applications.InceptionV3(weights=None), size=299,
                         preprocess=keras.applications.inception_v3.preprocess_input, mode="tf",
                         featurizer="mixed10"),
    "xception": dict(ctor=lambda: keras.applications.Xception(weights=None), size=299,
                     preprocess=keras.applications.xception.preprocess_input, mode="tf",
                     featurizer="block14_sepconv2_act"),
    "resnet50": dict(ctor=lambda: keras.applications.ResNet50(weights=None), size=224,
                     preprocess=keras.applications.resnet50.preprocess_input, mode="caffe",
                     featurizer="conv5_block3_out"),
    "vgg16": dict(ctor=lambda: keras.applications.VGG16(weights=None), size=224,
                  preprocess=keras.applications.vgg16.preprocess_input, mode="caffe",
                  featurizer="block5_pool"),
    "vgg19": dict(ctor=lambda: keras.applications.VGG19(weights=None), size=224,
                  preprocess=keras.applications.vgg19.preprocess_input, mode="caffe",
                  featurizer="block5_pool"),
}


def checkpoint_layers(name, model):
    """The layers whose outputs get checksums: each stage/block output, plus the
    first ops of the stem so a mismatch can be bisected from the start."""
    names = [l.name for l in model.layers]
    picked = []
    if name == "inception_v3":
        # Stem (up to the second max pool): conv, BN, ReLU of the first
        # conv2d_bn, then every ReLU and pool.
        stem_end = names.index("max_pooling2d_1") + 1
        picked += names[1:4]
        picked += [n for n in names[:stem_end] if n.startswith("activation") or n.startswith("max_pooling2d")]
        picked += ["mixed%d" % i for i in range(11)]
    elif name == "xception":
        picked += ["block1_conv1", "block1_conv1_bn", "block1_conv1_act", "block1_conv2_act"]
        picked += [n for n in names if n == "add" or n.startswith("add_")]
        picked += ["block14_sepconv1_act", "block14_sepconv2_act"]
    elif name == "resnet50":
        picked += ["conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu", "pool1_pool"]
        picked += [n for n in names if n.endswith("_out")]
    else:
        picked += ["block1_conv1"] + [n for n in names if n.endswith("_pool")]
    picked += [names[-2], names[-1]]  # avg_pool / fc2, then predictions
    seen = set()
    return [n for n in picked if not (n in seen or seen.add(n))]


def load_photos(size):
    """uint8 [3, size, size, 3]: the 299 PNGs as is; for 224 a TF area resize,
    rounded and clipped, saved as the PNG fixture C reads."""
    images = []
    for photo in PHOTOS:
        rgb = np.asarray(Image.open(os.path.join(SHARED, "oracle", "inception_v3", photo + "_299.png")).convert("RGB"))
        if size != 299:
            resized = tf.image.resize(rgb.astype(np.float32), (size, size), method="area").numpy()
            rgb = np.clip(np.round(resized), 0, 255).astype(np.uint8)
            path = os.path.join(FIXTURES, "images", "%s_%d.png" % (photo, size))
            Image.fromarray(rgb).save(path, optimize=True)
            # The PNG must give back exactly these pixels.
            assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), rgb)
        images.append(rgb)
    return np.stack(images)


def g9(x):
    return float("%.9g" % x)


def g17(x):
    return float("%.17g" % x)


def sums(a):
    """(sum, sum of squares) per image, in float64."""
    a = a.astype(np.float64).reshape(a.shape[0], -1)
    return [[g17(s), g17(q)] for s, q in zip(a.sum(axis=1), (a * a).sum(axis=1))]


class BinWriter:
    def __init__(self):
        self.chunks, self.index, self.offset = [], {}, 0

    def add(self, name, array):
        a = np.ascontiguousarray(array, dtype="<f4")
        self.index[name] = {"offset_bytes": self.offset, "shape": list(a.shape)}
        self.chunks.append(a.tobytes())
        self.offset += a.nbytes

    def write(self, path):
        with open(path, "wb") as f:
            for c in self.chunks:
                f.write(c)


def run_model(name, spec):
    started = time.time()
    keras.backend.clear_session()  # auto-generated layer names start afresh
    model = spec["ctor"]()
    order = synth.assign(model)
    weight_layers = [l for l in model.layers if l.weights]

    pixels = load_photos(spec["size"])
    x = spec["preprocess"](pixels.astype(np.float32).copy())

    checkpoints = checkpoint_layers(name, model)
    wanted = [spec["featurizer"]] + checkpoints
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in wanted])
    outputs = dict(zip(wanted, probe.predict(x, batch_size=3, verbose=0)))
    feature = outputs[spec["featurizer"]]                     # [3, h, w, c] NHWC
    probs = outputs[model.layers[-1].name]                    # [3, 1000]
    assert np.allclose(probs, model.predict(x, batch_size=3, verbose=0), rtol=1e-5, atol=1e-7)
    pre = outputs[model.layers[-2].name]
    dense = model.layers[-1]
    w, b = [v.astype(np.float64) for v in dense.get_weights()]
    logits = pre.reshape(3, -1).astype(np.float64) @ w + b    # NumPy float64, beside TF's softmax

    bins = BinWriter()
    bins.add("input_preprocessed_first_row", x[:, 0, :, :])  # [3, W, 3]: checks the preprocessing
    bins.add("avg", feature.mean(axis=(1, 2)))
    bins.add("max", feature.max(axis=(1, 2)))
    bins.add("probabilities", probs)
    bins.add("logits", logits)
    bins.write(os.path.join(FIXTURES, "keras", name + ".bin"))

    flat = feature.reshape(3, -1)
    slices = []
    for start in SLICE_STARTS:
        s = start % flat.shape[1]
        slices.append({"offset": s, "values": [[g9(v) for v in flat[i, s:s + 16]] for i in range(3)]})
    top5 = []
    for i in range(3):
        # Ranked by the float64 logits: with synthetic weights the softmax often
        # saturates (ties at 0.0 and 1.0 would make a probability ranking arbitrary).
        idx = np.argsort(-logits[i], kind="stable")[:5]
        top5.append([[int(j), g9(probs[i, j]), g9(logits[i, j])] for j in idx])
    layer_pos = {l.name: i for i, l in enumerate(model.layers)}

    doc = {
        "producer": "tests/oracle/keras_oracle.py: tf-keras %s on TensorFlow %s, NumPy %s, CPU, float32"
                    % (keras.__version__, tf.__version__, np.__version__),
        "model": "keras.applications model %s(weights=None, include_top=True, classes=1000)" % model.name,
        "weights": "dlp-synth-v1 (tests/oracle/synth.py), k over model.layers filtered to layers with weights",
        "weight_order": "weight_order_%s.json" % name,
        "weight_bearing_layers": len(weight_layers),
        "weight_count": len(order),
        "parameter_count": int(model.count_params()),
        "input": {
            "size": spec["size"],
            "images": ["%s_%d.png" % (p, spec["size"]) for p in PHOTOS],
            "image_dirs": "299: ../shared/oracle/inception_v3/, 224: tests/fixtures/images/ "
                          "(tf.image.resize method=area from the 299 PNGs, rounded, clipped to uint8)",
            "preprocess": spec["mode"],
            "pixel_sums": [int(p.astype(np.int64).sum()) for p in pixels],
        },
        "featurizer": {
            "layer": spec["featurizer"],
            "shape": list(feature.shape[1:]),
            "flatten_sums": sums(feature),
            "flatten_slices": slices,
        },
        "top5": top5,
        "top5_columns": ["class index", "probability (TF softmax)", "logit (float64 NumPy)"],
        "checkpoints": [
            {"layer": n, "index": layer_pos[n], "shape": list(outputs[n].shape[1:]), "sums": sums(outputs[n])}
            for n in checkpoints
        ],
        "arrays_file": name + ".bin",
        "arrays": bins.index,
        "arrays_doc": {
            "input_preprocessed_first_row": "preprocess_input output, row 0 of each image [3, W, 3]",
            "avg": "mean over H, W of the featurizer output [3, C] (pooling=avg)",
            "max": "max over H, W of the featurizer output [3, C] (pooling=max)",
            "probabilities": "the model's 1000-way softmax [3, 1000]",
            "logits": "NumPy float64 (pre-softmax input @ kernel + bias) stored float32 [3, 1000]",
        },
    }
    with open(os.path.join(FIXTURES, "keras", name + ".json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    with open(os.path.join(FIXTURES, "keras", "weight_order_%s.json" % name), "w") as f:
        f.write('{"model":"%s","columns":["k","layer","slot","shape"],"weights":[\n' % name)
        f.write(",\n".join(json.dumps([k, ln, s, sh], separators=(",", ":")) for k, ln, s, sh in order))
        f.write("\n]}\n")
    kinds = {}
    for l in weight_layers:
        key = "%s(%s)" % (type(l).__name__, ",".join(synth.slot_of(w.name) for w in l.weights))
        kinds[key] = kinds.get(key, 0) + 1
    print("%s: %d weight-bearing layers, %d weights, %d params: %s (%.1f s)"
          % (name, len(weight_layers), len(order), model.count_params(),
             "; ".join("%d x %s" % (c, k) for k, c in kinds.items()), time.time() - started), file=sys.stderr)


def main():
    os.makedirs(os.path.join(FIXTURES, "keras"), exist_ok=True)
    os.makedirs(os.path.join(FIXTURES, "images"), exist_ok=True)
    synth.main()
    names = sys.argv[1:] or list(MODELS)
    for name in names:
        run_model(name, MODELS[name])


if __name__ == "__main__":
    main()
