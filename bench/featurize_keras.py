#!/usr/bin/env python3
"""featurize_keras.py: images/s of a tf-keras application featurizer
(include_top=False, pooling='avg', random weights, fp32) on the CPU, the Keras
peer of bench/featurize_cpu.c. Run with the oracle venv (/work/venv: pinned
tensorflow and tf-keras, tests/oracle/requirements.txt). One line per batch:

  keras model=InceptionV3 batch=16 threads=2 runs=5 median_ms=... images_per_s=...

The forward pass is a tf.function of model(x, training=False) (what predict
runs, without its per-call dataset overhead); intra-op threads = --threads,
inter-op threads = 1, so the process uses as many cores as the others.
"""
import argparse
import os
import resource
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

SIDES = {"InceptionV3": 299, "ResNet50": 224}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="InceptionV3", choices=sorted(SIDES))
    parser.add_argument("--batch", default="1,16")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    side = SIDES[args.model]
    application = getattr(tf_keras.applications, args.model)
    model = application(weights=None, include_top=False, pooling="avg", input_shape=(side, side, 3))
    forward = tf.function(lambda x: model(x, training=False))
    rng = np.random.default_rng(12345)
    for batch in (int(b) for b in args.batch.split(",")):
        x = tf.constant(rng.uniform(-1, 1, (batch, side, side, 3)).astype(np.float32))
        times = []
        for r in range(args.warmup + args.runs):
            start = time.perf_counter()
            features = forward(x).numpy()
            elapsed = (time.perf_counter() - start) * 1e3
            if r >= args.warmup:
                times.append(elapsed)
        assert features.shape == (batch, 2048), features.shape
        median = statistics.median(times)
        print(f"keras model={args.model} batch={batch} threads={args.threads} runs={args.runs} "
              f"median_ms={median:.2f} best_ms={min(times):.2f} images_per_s={batch * 1e3 / median:.3f}", flush=True)
    # The process's peak resident set (Linux: KiB): the interpreter, TensorFlow, the model, the largest batch.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"memory tool=keras model={args.model} batches={args.batch} peak_rss_mib={peak:.1f}", flush=True)


if __name__ == "__main__":
    main()
