"""keras_nested_oracle.py: tf-keras 2.18 fixtures for users' models that nest
models (a Functional or Sequential model used as a layer, the usual
transfer-learning shape) and for tensor models fed N-D arrays.

Writes into tests/fixtures/keras_model/:
  nested_functional.h5   Input -> a Functional "backbone" (conv, batch norm,
                         two branches added, pooling; its own Input) -> a
                         Sequential "head" (Dense layers, one named like a
                         backbone layer) -> softmax; whole model, save_format h5
  nested_sequential.h5   a Sequential holding a Sequential holding a Sequential
  nested_*_x.npy / _y0.npy  inputs (rows flattened) and Keras' outputs
  nd_conv.h5 + nd_conv_x.npy [N, 9, 9, 3] + nd_conv_y0.npy [N, 3, 3, 5]
                         a conv model fed a 4-D .npy, whose output is 4-D too
  nd_series.h5 + nd_series_x.npy [N, 6, 4] + nd_series_y0.npy [N, 6, 3]
                         a [T, F] model, 3-D in and out
  refuse_nested_{lstm,shared,two_outputs}.json  configs dlp refuses: a nested
                         model holding an LSTM, one called twice, one with two outputs
Random weights (seeded), batch-norm statistics moved away from (0, 1).
Run with the oracle venv: tests/oracle/run.sh VENV keras_nested_oracle.py
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402

import keras_model_oracle  # noqa: E402

OUT = keras_model_oracle.OUT
L = keras.layers


def randomize_statistics(model, seed):
    """Batch-norm statistics away from (0, 1), nested models' layers included."""
    keras_model_oracle.randomize_statistics(model, seed, layers=model.submodules)


def nested_functional():
    keras.backend.clear_session()
    keras.utils.set_random_seed(31)
    image = keras.Input((10, 10, 3), name="backbone_in")
    x = L.Conv2D(6, 3, padding="same", name="conv")(image)
    x = L.BatchNormalization(name="bn")(x)
    x = L.ReLU(name="relu")(x)
    a = L.Conv2D(6, 1, activation="relu", name="branch_a")(x)
    b = L.DepthwiseConv2D(3, padding="same", name="branch_b")(x)
    x = L.Add(name="merge")([a, b])
    x = L.MaxPooling2D(2, name="pool")(x)
    backbone = keras.Model(image, x, name="backbone")
    head = keras.Sequential([L.GlobalAveragePooling2D(name="gap"), L.Dense(8, activation="relu", name="conv"),
                             L.Dropout(0.2, name="drop")], name="head")
    inputs = keras.Input((10, 10, 3), name="image")
    x = L.Rescaling(1 / 127.5, offset=-1, name="scale")(inputs)
    x = backbone(x)
    x = head(x)
    outputs = L.Dense(4, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="transfer")
    randomize_statistics(model, 11)
    return model


def nested_sequential():
    keras.backend.clear_session()
    keras.utils.set_random_seed(37)
    innermost = keras.Sequential([L.Dense(12, activation="tanh", name="deep"), L.BatchNormalization(name="deep_bn")],
                                 name="innermost")
    middle = keras.Sequential([L.Dense(10, activation="relu", name="mid"), innermost], name="middle")
    model = keras.Sequential([keras.Input((7,)), middle, L.Dense(3, name="out")], name="outer")
    randomize_statistics(model, 13)
    return model


def nd_conv():
    keras.backend.clear_session()
    keras.utils.set_random_seed(41)
    inputs = keras.Input((9, 9, 3), name="pixels")
    x = L.Conv2D(4, 3, activation="relu", name="conv_a")(inputs)
    x = L.BatchNormalization(name="bn")(x)
    outputs = L.Conv2D(5, 2, strides=2, name="conv_b")(x)
    model = keras.Model(inputs, outputs, name="nd_conv")
    randomize_statistics(model, 17)
    return model


def nd_series():
    keras.backend.clear_session()
    keras.utils.set_random_seed(43)
    inputs = keras.Input((6, 4), name="series")
    x = L.Dense(5, activation="swish", name="mix")(inputs)
    outputs = L.Dense(3, name="out")(x)
    return keras.Model(inputs, outputs, name="nd_series")


def refusals():
    """Nested models dlp refuses: written as configs (model.to_json())."""
    cases = {}
    keras.backend.clear_session()
    i = keras.Input((6, 4), name="series")
    encoder = keras.Model(i, L.LSTM(3, name="recurrent")(i), name="encoder")
    o = keras.Input((6, 4), name="outer_series")
    cases["nested_lstm"] = keras.Model(o, L.Dense(2, name="out")(encoder(o)), name="wraps_lstm")
    keras.backend.clear_session()
    i = keras.Input((5,), name="item")
    tower = keras.Model(i, L.Dense(3, name="embed")(i), name="tower")
    a = keras.Input((5,), name="left")
    cases["nested_shared"] = keras.Model(a, L.Add(name="sum")([tower(a), tower(L.Dense(5, name="shift")(a))]),
                                         name="siamese")
    keras.backend.clear_session()
    i = keras.Input((5,), name="item")
    split = keras.Model(i, [L.Dense(3, name="first")(i), L.Dense(3, name="second")(i)], name="split")
    a = keras.Input((5,), name="outer_item")
    cases["nested_two_outputs"] = keras.Model(a, L.Add(name="sum")(split(a)), name="uses_split")
    for name, model in cases.items():
        with open(os.path.join(OUT, "refuse_%s.json" % name), "w") as f:
            f.write(model.to_json())


def save(model, stem, x, flatten_input=True):
    model.save(os.path.join(OUT, stem + ".h5"), save_format="h5")
    # Reloading the file is what a user would do: the outputs must survive it.
    reloaded = keras.models.load_model(os.path.join(OUT, stem + ".h5"), compile=False)
    y = model.predict(x, verbose=0)
    assert np.allclose(y, reloaded.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    np.save(os.path.join(OUT, stem + "_x.npy"), (x.reshape(len(x), -1) if flatten_input else x).astype(np.float32))
    np.save(os.path.join(OUT, stem + "_y0.npy"), (y.reshape(len(x), -1) if flatten_input else y).astype(np.float32))
    print("%s: input %s, output %s" % (stem, x.shape, y.shape))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.RandomState(5)
    save(nested_functional(), "nested_functional", rng.uniform(0, 255, (4, 10, 10, 3)).astype(np.float32))
    save(nested_sequential(), "nested_sequential", rng.normal(0, 1, (5, 7)).astype(np.float32))
    save(nd_conv(), "nd_conv", rng.normal(0, 1, (3, 9, 9, 3)).astype(np.float32), flatten_input=False)
    save(nd_series(), "nd_series", rng.normal(0, 1, (4, 6, 4)).astype(np.float32), flatten_input=False)
    refusals()


if __name__ == "__main__":
    main()
