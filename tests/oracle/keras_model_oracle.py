"""keras_model_oracle.py: small Keras models written by tf-keras 2.18 and what
Keras computes with them, for user models built from a model_config
(src/models/keras_config.c, tests/unit/test_keras_model.c).

Writes tests/fixtures/keras_model/:
  every_layer.h5        a Functional model on 12x12x3 images using every layer
                        and activation dlp supports (model.save(save_format="h5"))
  every_layer_x.npy     its inputs (4 images, flattened to rows)
  every_layer_y0..5.npy Keras' outputs, one file per model output, rows per image
                        (probabilities, a feature map, and four intermediate
                        tensors: the heads before the softmax, the pooled
                        vector, the row/column branch, the reshaped branch)
  tensor_2d.h5          a Functional model on [6, 8] arrays (sparkdl's tensor
                        models): Dense, Permute, Reshape, BatchNormalization, ...
  tensor_2d_x.npy / tensor_2d_y0.npy
  sequential.h5         a Sequential model on 1-D [10] vectors; _x / _y0 as above
  keras3.h5 / keras3_x.npy / keras3_y0.npy
                        a Functional model written by Keras 3 (model.save to
                        .h5): Keras 3's config format (calls as {"args": ...},
                        batch_shape, hard_sigmoid = relu6(x+3)/6)
  activations.npy       row 0: x in [-7, 7]; then one row per activation in
                        ACTIVATIONS order, computed by tf_keras.activations
                        (the last row by Keras 3's hard_sigmoid)
  refuse_*.json         model.to_json() of models dlp must refuse (LSTM, Conv3D,
                        dilation_rate 2, groups 2, channels_first, Concatenate on
                        the batch axis); refuse_lstm.h5 the LSTM one saved whole
Run with the oracle venv: tests/oracle/run.sh VENV keras_model_oracle.py
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
import keras as keras3  # noqa: E402  (Keras 3, the version TensorFlow 2.18 installs)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("DLP_FIXTURES", os.path.join(HERE, "..", "fixtures"))
OUT = os.path.join(FIXTURES, "keras_model")
L = keras.layers

# The activation names dlp accepts, in the order of activations.npy's rows
# (after x); "gelu_approximate" is gelu(x, approximate=True), which a Keras
# config cannot name (TF.js spells it "gelu_new").
ACTIVATIONS = ["linear", "relu", "relu6", "sigmoid", "tanh", "elu", "selu", "swish", "gelu", "gelu_approximate",
               "hard_sigmoid", "softplus", "keras3_hard_sigmoid"]


def randomize_statistics(model, seed, layers=None):
    """Batch-norm statistics away from (0, 1), so folding mistakes show
    (layers: model.layers unless given, e.g. model.submodules for nested models)."""
    rng = np.random.RandomState(seed)
    for layer in model.layers if layers is None else layers:
        if isinstance(layer, L.BatchNormalization):
            layer.set_weights([(rng.uniform(0.5, 1.5, w.shape) if "variance" in w.name or "gamma" in w.name
                                else rng.uniform(-0.3, 0.3, w.shape)).astype(np.float32) for w in layer.weights])


def every_layer_model():
    keras.backend.clear_session()
    keras.utils.set_random_seed(20241126)
    image = keras.Input((12, 12, 3), name="image")
    x = L.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(image)
    x = L.Normalization(axis=-1, mean=[0.1, -0.2, 0.05], variance=[0.8, 1.2, 0.5], name="norm_given")(x)
    x = L.ZeroPadding2D(((1, 0), (0, 1)), name="pad")(x)                       # 13x13x3
    x = L.Conv2D(8, 3, strides=1, padding="valid", activation="relu", name="conv")(x)  # 11x11x8
    x = L.BatchNormalization(epsilon=1e-3, name="conv_bn")(x)
    adapted = L.Normalization(axis=-1, name="norm_adapted")
    adapted.adapt(np.random.RandomState(3).normal(0.5, 2.0, (16, 11, 11, 8)).astype(np.float32))
    x = adapted(x)
    a = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="elu", name="depthwise")(x)  # 16
    b = L.SeparableConv2D(16, 3, padding="same", activation="selu", name="separable")(x)               # 16
    c = L.Conv2D(16, 1, activation="swish", name="pointwise")(x)
    d = L.Conv2D(16, (3, 2), strides=(2, 1), padding="same", use_bias=False, name="strided")(x)        # 6x11
    added = L.Add(name="add")([a, b])
    subtracted = L.Subtract(name="subtract")([a, c])
    multiplied = L.Multiply(name="multiply")([b, c])
    averaged = L.Average(name="average")([a, b, c])
    maximum = L.Maximum(name="maximum")([a, b, c])
    x = L.Concatenate(name="concat_channels")([added, subtracted, multiplied])          # 11x11x48
    x = L.Activation("gelu", name="act_gelu")(x)
    x = L.ReLU(max_value=2.5, negative_slope=0.1, threshold=0.2, name="relu_args")(x)
    y = L.Concatenate(axis=1, name="concat_rows")([averaged, maximum])                 # 22x11x16
    y = L.LeakyReLU(alpha=0.15, name="leaky")(y)
    y = L.Cropping2D(((2, 4), (1, 0)), name="crop")(y)                                  # 16x10x16
    y = L.MaxPooling2D(2, padding="valid", name="max_pool")(y)                          # 8x5x16
    y = L.Concatenate(axis=2, name="concat_cols")([y, y])                               # 8x10x16
    y = L.Permute((2, 1, 3), name="permute_hw")(y)                                      # 10x8x16
    y = L.AveragePooling2D(3, strides=2, padding="same", name="avg_pool")(y)            # 5x4x16
    z = L.MaxPooling2D(3, strides=2, padding="same", name="max_pool_same")(x)           # 6x6x48
    z = L.Dropout(0.5, name="dropout")(z)
    z = L.Permute((3, 1, 2), name="permute_chw")(z)                                     # 48x6x6
    z = L.Reshape((48, 36), name="reshape_2d")(z)
    z = L.Dense(6, activation="hard_sigmoid", name="dense_2d")(z)                       # 48x6
    z = L.Reshape((8, 6, 6), name="reshape_3d")(z)
    z = L.Conv2D(12, 3, activation="softplus", name="conv_after_reshape")(z)            # 6x4x12
    pooled = [L.GlobalAveragePooling2D(name="gap")(y), L.GlobalMaxPooling2D(name="gmp")(z),
              L.GlobalAveragePooling2D(keepdims=True, name="gap_keep")(d)]
    pooled[2] = L.Flatten(name="flatten_keep")(pooled[2])
    flat = L.Flatten(name="flatten")(L.Activation("tanh", name="act_tanh")(y))
    v = L.Concatenate(name="vector")(pooled + [L.Dense(8, activation="relu6", name="dense_flat")(flat)])
    v = L.BatchNormalization(name="vector_bn")(v)
    heads = []
    for name in ["linear", "sigmoid", "softplus", "silu", "gelu", "hard_sigmoid", "elu", "selu", "tanh", "relu"]:
        heads.append(L.Dense(3, activation=name, name="head_" + name)(v))
    head_values = L.Concatenate(name="heads")(heads)
    probs = L.Dense(5, activation="softmax", name="probs")(head_values)
    feature_map = L.Activation("sigmoid", name="map_out")(L.Activation("relu", name="map_relu")(d))
    # The intermediate outputs keep the check sensitive where the softmax saturates.
    model = keras.Model(image, [probs, feature_map, head_values, v, y, z], name="every_layer")
    randomize_statistics(model, 11)
    return model


def tensor_model():
    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    t = keras.Input((6, 8), name="series")
    x = L.Dense(5, activation="tanh", name="dense_in")(t)                    # 6x5
    x = L.Permute((2, 1), name="transpose")(x)                               # 5x6
    x = L.Reshape((3, 10), name="regroup")(x)                                # 3x10
    a = L.Dense(4, name="dense_a")(x)
    a = L.BatchNormalization(name="bn_a")(a)
    b = L.Dense(4, activation="sigmoid", name="dense_b")(x)
    x = L.Concatenate(axis=1, name="stack")([a, b])                          # 6x4
    gated = L.Concatenate(axis=1, name="stack_gated")([L.Multiply(name="gate")([a, b]), L.Subtract(name="diff")([a, b])])
    x = L.Concatenate(axis=-1, name="widen")([x, gated])                     # 6x8
    x = L.Reshape((-1,), name="to_vector")(x)                                # 48
    x = L.Dense(7, activation="gelu", name="dense_mid")(x)
    x = L.Dropout(0.3, name="drop")(x)
    out = L.Dense(3, activation="softmax", name="out")(x)
    model = keras.Model(t, out, name="tensor_2d")
    randomize_statistics(model, 5)
    return model


def sequential_model():
    keras.backend.clear_session()
    keras.utils.set_random_seed(9)
    model = keras.Sequential([
        keras.Input((10,)),
        L.Dense(16, activation="relu"),
        L.BatchNormalization(),
        L.Dense(8, activation="elu"),
        L.Reshape((2, 4)),
        L.Permute((2, 1)),
        L.Flatten(),
        L.Dense(4, activation="softmax"),
    ], name="seq")
    randomize_statistics(model, 3)
    return model


def keras3_model():
    K = keras3.layers
    keras3.utils.set_random_seed(13)
    image = keras3.Input((10, 10, 3), name="image")
    x = K.Rescaling(1 / 255.0, offset=-0.5, name="rescale")(image)
    x = K.Conv2D(6, 3, padding="same", activation="gelu", name="conv")(x)
    x = K.BatchNormalization(name="bn")(x)
    adapted = K.Normalization(name="norm")
    adapted.adapt(np.random.RandomState(4).normal(0.2, 0.7, (8, 10, 10, 6)).astype(np.float32))
    x = adapted(x)
    a = K.SeparableConv2D(6, 3, padding="same", activation="hard_sigmoid", name="sep")(x)
    b = K.DepthwiseConv2D(3, padding="same", name="dw")(x)
    x = K.Add(name="add")([a, b])
    x = K.LeakyReLU(negative_slope=0.2, name="leaky")(x)
    x = K.Concatenate(axis=1, name="cat")([x, b])                     # 20x10x6
    x = K.Cropping2D(((1, 1), (0, 2)), name="crop")(x)               # 18x8x6
    x = K.MaxPooling2D(2, name="pool")(x)                             # 9x4x6
    x = K.Permute((2, 1, 3), name="swap")(x)                          # 4x9x6
    x = K.Reshape((36, 6), name="rows")(x)
    x = K.Dense(5, activation="silu", name="per_row")(x)
    x = K.GlobalAveragePooling1D(name="gap1d")(x)
    out = K.Dense(4, activation="softmax", name="out")(x)
    model = keras3.Model(image, [out, x], name="k3")
    rng = np.random.RandomState(2)
    bn = model.get_layer("bn")
    bn.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if i in (0, 3)
                    else rng.uniform(-0.3, 0.3, w.shape).astype(np.float32) for i, w in enumerate(bn.get_weights())])
    return model


def save(model, stem, x):
    if stem == "keras3":
        model.save(os.path.join(OUT, stem + ".h5"))
    else:
        model.save(os.path.join(OUT, stem + ".h5"), save_format="h5")
    np.save(os.path.join(OUT, stem + "_x.npy"), x.reshape(len(x), -1).astype(np.float32))
    ys = model.predict(x, verbose=0)
    if not isinstance(ys, list):
        ys = [ys]
    for i, y in enumerate(ys):
        np.save(os.path.join(OUT, "%s_y%d.npy" % (stem, i)), y.reshape(len(x), -1).astype(np.float32))
        print("%s output %d: shape %s" % (stem, i, y.shape))


def activation_table():
    x = np.linspace(-7, 7, 141).astype(np.float32)
    rows = [x]
    for name in ACTIVATIONS:
        if name == "gelu_approximate":
            y = keras.activations.gelu(tf.constant(x), approximate=True)
        elif name == "keras3_hard_sigmoid":
            y = keras3.activations.hard_sigmoid(tf.constant(x))
        else:
            y = keras.activations.get(name)(tf.constant(x))
        rows.append(np.asarray(y, dtype=np.float32))
    np.save(os.path.join(OUT, "activations.npy"), np.stack(rows).astype(np.float32))


def refusals():
    cases = {}
    keras.backend.clear_session()
    i = keras.Input((8, 8, 3), name="image")
    x = L.Reshape((8, 24), name="rows")(i)
    cases["lstm"] = keras.Model(i, L.LSTM(4, name="recurrent")(x))
    keras.backend.clear_session()
    i = keras.Input((4, 8, 8, 3), name="volume")
    cases["conv3d"] = keras.Model(i, L.Conv3D(2, 3, name="volume_conv")(i))
    keras.backend.clear_session()
    i = keras.Input((8, 8, 4), name="image")
    cases["dilation"] = keras.Model(i, L.Conv2D(2, 3, dilation_rate=2, name="dilated")(i))
    keras.backend.clear_session()
    i = keras.Input((8, 8, 4), name="image")
    cases["groups"] = keras.Model(i, L.Conv2D(4, 3, groups=2, name="grouped")(i))
    keras.backend.clear_session()
    i = keras.Input((3, 8, 8), name="image")
    cases["channels_first"] = keras.Model(i, L.Conv2D(2, 3, data_format="channels_first", name="nchw")(i))
    keras.backend.clear_session()
    i = keras.Input((8, 8, 3), name="image")
    x = L.Conv2D(2, 3, name="conv")(i)
    cases["concat_batch"] = keras.Model(i, L.Concatenate(axis=0, name="batch_concat")([x, x]))
    for name, model in cases.items():
        with open(os.path.join(OUT, "refuse_%s.json" % name), "w") as f:
            f.write(model.to_json())
    cases["lstm"].save(os.path.join(OUT, "refuse_lstm.h5"), save_format="h5")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.RandomState(1)
    save(every_layer_model(), "every_layer", rng.uniform(0, 255, (4, 12, 12, 3)).astype(np.float32))
    save(tensor_model(), "tensor_2d", rng.normal(0, 1, (5, 6, 8)).astype(np.float32))
    save(sequential_model(), "sequential", rng.normal(0, 1, (3, 10)).astype(np.float32))
    save(keras3_model(), "keras3", rng.uniform(0, 255, (3, 10, 10, 3)).astype(np.float32))
    activation_table()
    refusals()


if __name__ == "__main__":
    main()
