"""h5_oracle.py: small Keras-written .h5 files and what Keras says is in them,
for the Keras .h5 importer (src/weights/keras_h5.c, tests/unit/test_keras_h5.c).

Writes tests/fixtures/h5/:
  small_cnn_weights.h5  model.save_weights(".h5"): the legacy weights-only layout
                        of the official *_weights_tf_dim_ordering_tf_kernels.h5
  small_cnn_model.h5    model.save(save_format="h5"): model_weights + model_config
  string_variants.h5    written with h5py, not Keras: the whole-model layout as
                        Keras 2.2.4 / h5py 2 wrote it (the official ImageNet files
                        too): fixed-length string attributes where tf-keras 2.18
                        writes variable-length ones, layer_names split into
                        layer_names0/1 (Keras splits attributes over 64 KB so), an
                        empty float64 weight_names, float64/float16 datasets
  small_cnn.json        per file: the tensors in Keras' order (name, shape, float64
                        sum, sum of squares, first values), the model's input and output
Run with the oracle venv: tests/oracle/run.sh VENV h5_oracle.py
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("DLP_FIXTURES", os.path.join(HERE, "..", "fixtures"))
OUT = os.path.join(FIXTURES, "h5")


def build_small_cnn():
    keras.backend.clear_session()
    keras.utils.set_random_seed(20240601)
    L = keras.layers
    inputs = keras.Input((12, 12, 3), name="image")
    x = L.Conv2D(8, 3, padding="same", name="conv")(inputs)
    x = L.BatchNormalization(epsilon=1e-3, name="conv_bn")(x)
    x = L.ReLU(name="conv_relu")(x)
    x = L.MaxPooling2D(2, name="pool")(x)
    x = L.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    x = L.SeparableConv2D(16, 3, padding="same", use_bias=False, name="separable")(x)
    x = L.BatchNormalization(scale=False, name="separable_bn")(x)
    x = L.Activation("relu", name="separable_relu")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    outputs = L.Dense(5, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="small_cnn")
    # Batch-norm statistics away from their (0, 1) initial values, so a reader
    # that mixes up the slots is caught.
    rng = np.random.RandomState(7)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            layer.set_weights([(rng.uniform(0.5, 1.5, w.shape) if "variance" in w.name or "gamma" in w.name
                                else rng.uniform(-0.3, 0.3, w.shape)).astype(np.float32) for w in layer.weights])
    return model


def describe(name, array):
    a = np.asarray(array)
    f = a.astype(np.float32).astype(np.float64).ravel()
    return {"name": name, "shape": list(a.shape), "file_dtype": str(a.dtype),
            "sum": float("%.17g" % f.sum()), "sum_squares": float("%.17g" % (f * f).sum()),
            "first": [float("%.9g" % v) for v in f[:6]]}


def keras_tensors(model):
    """What the importer must produce, from Keras' own weight list."""
    out = []
    for layer in model.layers:
        for w in layer.weights:
            short = w.name.split("/")[-1].split(":")[0]
            out.append(describe("%s/%s" % (layer.name, short), w.numpy()))
    return out


def string_variants(model, path):
    """The legacy layout written by hand with the string and dtype variants."""
    layers = [l for l in model.layers]
    tensors = []
    with h5py.File(path, "w") as f:
        # NumPy bytes arrays ('S' dtype) become fixed-length, null-padded HDF5 strings.
        f.attrs["model_config"] = np.bytes_(json.dumps({"class_name": "Model", "config": model.get_config()}))
        f.attrs["keras_version"] = np.bytes_("2.2.4")
        f.attrs["backend"] = np.bytes_("tensorflow")
        mw = f.create_group("model_weights")
        names = [l.name.encode() for l in layers]
        half = len(names) // 2
        mw.attrs["layer_names0"] = np.array(names[:half])
        mw.attrs["layer_names1"] = np.array(names[half:])
        for i, layer in enumerate(layers):
            g = mw.create_group(layer.name)
            if not layer.weights:
                g.attrs["weight_names"] = np.asarray([])  # Keras 2 writes an empty float64 array
                continue
            g.attrs["weight_names"] = np.array([w.name.encode() for w in layer.weights])
            for j, w in enumerate(layer.weights):
                dtype = np.float64 if (i + j) % 3 == 0 else np.float16 if (i + j) % 3 == 1 else np.float32
                data = w.numpy().astype(dtype)
                g.create_dataset(w.name, data=data)
                short = w.name.split("/")[-1].split(":")[0]
                tensors.append(describe("%s/%s" % (layer.name, short), data))
    return tensors


def bad_files():
    """One small file per way a Keras h5 can be wrong; the importer must refuse
    each with DLP_ERR_MODEL naming the layer/weight (the expected words are in
    small_cnn.json "bad_files")."""
    vlen = h5py.string_dtype("utf-8")
    cases = {}

    def legacy(path, weight_names=("dense/kernel:0",), data=np.ones((2, 3), np.float32), write_names=True):
        with h5py.File(path, "w") as f:
            f.attrs.create("layer_names", np.array(["dense"], dtype=object), dtype=vlen)
            g = f.create_group("dense")
            if write_names:
                g.attrs.create("weight_names", np.array(list(weight_names), dtype=object), dtype=vlen)
            if data is not None:
                g.create_dataset("dense/kernel:0", data=data)

    path = lambda name: os.path.join(OUT, name)  # noqa: E731
    with h5py.File(path("bad_not_keras.h5"), "w") as f:
        f.create_dataset("x", data=np.zeros(3, np.float32))
    cases["bad_not_keras.h5"] = "layer_names"
    legacy(path("bad_no_weight_names.h5"), write_names=False)
    cases["bad_no_weight_names.h5"] = "dense"
    legacy(path("bad_int_dataset.h5"), data=np.ones((2, 3), np.int32))
    cases["bad_int_dataset.h5"] = "dense/kernel:0"
    legacy(path("bad_missing_dataset.h5"), weight_names=("dense/kernel:0", "dense/bias:0"))
    cases["bad_missing_dataset.h5"] = "dense/bias:0"
    with h5py.File(path("bad_missing_layer.h5"), "w") as f:
        f.attrs.create("layer_names", np.array(["dense", "dense_1"], dtype=object), dtype=vlen)
        f.create_group("dense").attrs["weight_names"] = np.asarray([])
    cases["bad_missing_layer.h5"] = "dense_1"
    with h5py.File(path("bad_numeric_names.h5"), "w") as f:
        f.attrs["layer_names"] = np.array([1, 2], np.int32)
    cases["bad_numeric_names.h5"] = "layer_names"
    with h5py.File(path("bad_binary_name.h5"), "w") as f:
        f.attrs["layer_names"] = np.array([b"dense", b"den\xffse\x01"])
        f.create_group("dense").attrs["weight_names"] = np.asarray([])
    cases["bad_binary_name.h5"] = "layer number 1 in layer_names: name is not UTF-8 text"
    return cases


def attr_kinds(path):
    """How each string attribute is stored (fixed or variable length), for the record."""
    kinds = {}
    with h5py.File(path, "r") as f:
        def note(name, obj):
            for key, value in obj.attrs.items():
                t = obj.attrs.get_id(key).get_type()
                if isinstance(t, h5py.h5t.TypeStringID):
                    kinds["%s@%s" % (name or "/", key)] = "vlen" if t.is_variable_str() else "fixed %d" % t.get_size()
        note("", f)
        f.visititems(note)
    return kinds


def main():
    os.makedirs(OUT, exist_ok=True)
    model = build_small_cnn()
    weights_path = os.path.join(OUT, "small_cnn_weights.h5")
    model_path = os.path.join(OUT, "small_cnn_model.h5")
    variants_path = os.path.join(OUT, "string_variants.h5")
    for p in (weights_path, model_path, variants_path):
        if os.path.exists(p):
            os.remove(p)
    model.save_weights(weights_path)
    model.save(model_path, save_format="h5")
    variant_tensors = string_variants(model, variants_path)

    # Keras reads them back to the same weights (by order for the weights-only file).
    reloaded = keras.models.load_model(model_path)
    for a, b in zip(model.get_weights(), reloaded.get_weights()):
        assert np.array_equal(a, b)
    clone = build_small_cnn()
    clone.load_weights(weights_path)
    for a, b in zip(model.get_weights(), clone.get_weights()):
        assert np.array_equal(a, b)

    x = np.random.RandomState(3).uniform(-1, 1, (2, 12, 12, 3)).astype(np.float32)
    y = model.predict(x, verbose=0)
    bad = bad_files()
    with h5py.File(model_path, "r") as f:
        layer_names = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights"].attrs["layer_names"]]
    doc = {
        "producer": "tests/oracle/h5_oracle.py: tf-keras %s, TensorFlow %s, h5py %s (HDF5 %s)"
                    % (keras.__version__, tf.__version__, h5py.__version__, h5py.version.hdf5_version),
        "layer_names": layer_names,
        "files": {
            "small_cnn_weights.h5": {"tensors": keras_tensors(model), "has_model_config": False,
                                     "string_attributes": attr_kinds(weights_path)},
            "small_cnn_model.h5": {"tensors": keras_tensors(model), "has_model_config": True,
                                   "string_attributes": attr_kinds(model_path)},
            "string_variants.h5": {"tensors": variant_tensors, "has_model_config": True,
                                   "string_attributes": attr_kinds(variants_path)},
        },
        "bad_files": bad,
        "input": {"shape": list(x.shape), "values": [float("%.9g" % v) for v in x.ravel()]},
        "output": {"layer": "predictions (softmax)", "shape": list(y.shape),
                   "values": [float("%.9g" % v) for v in y.ravel()]},
    }
    with open(os.path.join(OUT, "small_cnn.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", OUT, "params", model.count_params(), file=sys.stderr)


if __name__ == "__main__":
    main()
