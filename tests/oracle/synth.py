"""synth.py: dlp-synth-v1, the deterministic synthetic weights shared by the C
library (src/weights/synth.c) and the Python oracle. Change it only on both sides.

dlp-synth-v1 (DESIGN.md section 4):
  For weight-bearing layer k (0-based, Keras' topological order: model.layers
  filtered to layers with weights) and slot s (the weight's short name: kernel,
  bias, gamma, beta, moving_mean, moving_variance, depthwise_kernel,
  pointwise_kernel), key = FNV-1a-64 of the UTF-8 string "k/s" (e.g.
  "12/kernel"; offset basis 0xcbf29ce484222325, prime 0x100000001b3).
  Element i (in Keras' own layout, row-major) uses
      u = (splitmix64(key + i) >> 11) * 2^-53
  with splitmix64(x): z = x + 0x9e3779b97f4a7c15;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
      z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
      return z ^ (z >> 31)                       (all arithmetic mod 2^64).
  Values, computed in double and stored as float32:
      kernel, depthwise_kernel, pointwise_kernel: (2u - 1) * sqrt(6 / fan_in),
          fan_in = product of all dims but the last (dense [in,out] -> in,
          conv HWIO -> h*w*in, depthwise [h,w,in,mult] -> h*w*in,
          pointwise [1,1,in,out] -> in);
      bias, beta, moving_mean: (2u - 1) * 0.1;
      gamma: 0.8 + 0.4u;
      moving_variance: 0.5 + u.

Run as a script it writes tests/fixtures/synth/synth_v1.json: per (k, slot,
shape) the first elements and the float64 sum of the float32 values, which
tests/unit/test_synth.c compares with the C side.
"""
import json
import math
import os
import sys

import numpy as np

MASK64 = (1 << 64) - 1
KERNEL_SLOTS = ("kernel", "depthwise_kernel", "pointwise_kernel")
SLOTS = KERNEL_SLOTS + ("bias", "beta", "moving_mean", "gamma", "moving_variance")


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 0x100000001B3) & MASK64
    return h


def splitmix64(x):
    """Vectorized over a uint64 array (NumPy uint64 arrays wrap mod 2^64)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def uniform(layer_index, slot, count):
    """u for elements 0..count-1 of (layer_index, slot), as float64."""
    key = fnv1a64("%d/%s" % (layer_index, slot))
    with np.errstate(over="ignore"):
        x = np.uint64(key) + np.arange(count, dtype=np.uint64)
    return (splitmix64(x) >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)


def fan_in(shape):
    n = 1
    for d in shape[:-1]:
        n *= int(d)
    return n


def values(layer_index, slot, shape):
    """The float32 array for one weight, in Keras' layout."""
    shape = tuple(int(d) for d in shape)
    count = 1
    for d in shape:
        count *= d
    if slot not in SLOTS:
        raise ValueError("dlp-synth-v1: unknown slot %r" % slot)
    key = fnv1a64("%d/%s" % (layer_index, slot))
    out = np.empty(count, dtype=np.float32)
    chunk = 1 << 22  # VGG's fc1 kernel has 102M elements: bound the temporaries
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        with np.errstate(over="ignore"):
            x = np.uint64(key) + np.arange(start, start + n, dtype=np.uint64)
        u = (splitmix64(x) >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
        if slot in KERNEL_SLOTS:
            v = (2.0 * u - 1.0) * math.sqrt(6.0 / fan_in(shape))
        elif slot in ("bias", "beta", "moving_mean"):
            v = (2.0 * u - 1.0) * 0.1
        elif slot == "gamma":
            v = 0.8 + 0.4 * u
        else:
            v = 0.5 + u
        out[start:start + n] = v
    return out.reshape(shape)


def slot_of(weight_name):
    """'conv2d/kernel:0' -> 'kernel'."""
    return weight_name.split("/")[-1].split(":")[0]


def assign(model):
    """Sets every weight of a Keras model to dlp-synth-v1; returns the ordered
    list of (k, layer name, slot, shape)."""
    order = []
    for k, layer in enumerate([l for l in model.layers if l.weights]):
        new = []
        for w in layer.weights:
            s = slot_of(w.name)
            new.append(values(k, s, w.shape))
            order.append((k, layer.name, s, [int(d) for d in w.shape]))
        layer.set_weights(new)
    return order


CASES = [
    (0, "kernel", [3, 3, 3, 32]),
    (1, "gamma", [32]),
    (1, "beta", [32]),
    (1, "moving_mean", [32]),
    (1, "moving_variance", [32]),
    (2, "depthwise_kernel", [3, 3, 64, 1]),
    (2, "pointwise_kernel", [1, 1, 64, 128]),
    (12, "kernel", [2048, 1000]),
    (12, "bias", [1000]),
    (187, "kernel", [1, 1, 192, 320]),
    (1000, "moving_variance", [7]),
    (3, "kernel", [5]),
]


def main():
    out_dir = os.path.join(os.environ.get("DLP_FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures")),
                           "synth")
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    for k, s, shape in CASES:
        v = values(k, s, shape).ravel()
        cases.append({
            "layer": k, "slot": s, "shape": shape,
            "key": "%016x" % fnv1a64("%d/%s" % (k, s)),
            "u_first": ["%.17g" % x for x in uniform(k, s, 4)],
            "first": [float("%.9g" % x) for x in v[:8]],
            "last": float("%.9g" % v[-1]),
            "sum": float("%.17g" % v.astype(np.float64).sum()),
            "sum_squares": float("%.17g" % (v.astype(np.float64) ** 2).sum()),
        })
    doc = {"generator": "dlp-synth-v1", "written_by": "tests/oracle/synth.py", "cases": cases}
    with open(os.path.join(out_dir, "synth_v1.json"), "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", os.path.join(out_dir, "synth_v1.json"), file=sys.stderr)


if __name__ == "__main__":
    main()
