"""The logistic-regression benchmark's peers (DESIGN.md §9): Spark MLlib (local
mode) and scikit-learn on the same .npy data as bench_logreg, each timed to reach
the same objective: Spark's converged objective, within 1e-6 relative.

    python peers.py spark   --features X.npy --labels y.npy --cases 0.03:0,0.03:0.5 [--master local[2]]
    python peers.py sklearn --features X.npy --labels y.npy --reg R --elastic-net A --target F

The objective is Spark's: mean cross-entropy + regParam * ((1 - a)/2 ||W||^2 + a ||W||_1)
with W the coefficients of the standardized features (x / unbiased std), intercepts free.
scikit-learn is given the standardized features and C = 1 / (n * regParam), which makes
its objective the same function (times n C); its objective is evaluated here with numpy.
Prints one "RESULT key=value ..." line per timed configuration.
"""
import argparse
import os
import sys
import time

import numpy as np


def result(**fields):
    print("RESULT " + " ".join("%s=%s" % (k, v) for k, v in fields.items()), flush=True)


def spark_main(args, X, y):
    from pyspark.sql import SparkSession
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.linalg import Vectors

    spark = (SparkSession.builder.master(args.master).appName("dlp-bench-logreg")
             .config("spark.driver.memory", args.driver_memory).config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    start = time.time()
    rows = [(float(label), Vectors.dense(row)) for label, row in zip(y, X.astype(np.float64))]
    df = spark.createDataFrame(rows, ["label", "features"]).repartition(2).cache()
    df.count()
    del rows
    print("spark: data cached in %.1f s" % (time.time() - start), file=sys.stderr, flush=True)
    # One short untimed fit first: the JVM's JIT warm-up is not Spark's training time.
    LogisticRegression(regParam=0.03, maxIter=3).fit(df)
    threads = args.master[len("local["):-1] if args.master.startswith("local[") else args.master
    for case in args.cases.split(","):
        reg, alpha = (float(v) for v in case.split(":"))
        def fit(max_iter):
            lr = LogisticRegression(regParam=reg, elasticNetParam=alpha, maxIter=max_iter, tol=args.tol)
            t0 = time.time()
            model = lr.fit(df)
            return time.time() - t0, model.summary.objectiveHistory
        seconds, history = fit(args.max_iter)
        final = history[-1]
        result(tool="spark", device="cpu-converged", threads=threads, rows=X.shape[0], cols=X.shape[1],
               classes=int(y.max()) + 1, reg=reg, elastic_net=alpha, target=0, reached=1,
               iterations=len(history) - 1, objective="%.12g" % final, seconds="%.4f" % seconds)
        # The first iteration already within 1e-6 of the converged value, timed on its own.
        first = next(i for i, v in enumerate(history) if v <= final * (1 + 1e-6))
        if first < len(history) - 1:
            seconds, history = fit(first)
        result(tool="spark", device="cpu", threads=threads, rows=X.shape[0], cols=X.shape[1],
               classes=int(y.max()) + 1, reg=reg, elastic_net=alpha, target="%.12g" % final, reached=1,
               iterations=len(history) - 1, objective="%.12g" % history[-1], seconds="%.4f" % seconds)
    spark.stop()


def spark_objective(Xs, y, W, b, reg, alpha):
    margins = Xs @ W.T + b
    top = margins.max(axis=1, keepdims=True)
    log_z = top[:, 0] + np.log(np.exp(margins - top).sum(axis=1))
    loss = np.mean(log_z - margins[np.arange(len(y)), y])
    return loss + reg * ((1 - alpha) / 2 * np.sum(W * W) + alpha * np.sum(np.abs(W)))


def sklearn_main(args, X, y):
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    warnings.simplefilter("ignore", ConvergenceWarning)
    Xs = X.astype(np.float64)
    std = Xs.std(axis=0, ddof=1)
    # Spark gives a constant column (std 0) a standardized value of 0: it drops out.
    Xs = np.divide(Xs, std, out=np.zeros_like(Xs), where=std > 0)
    y = y.astype(np.int64)
    n = len(y)
    solver = "lbfgs" if args.elastic_net == 0 else "saga"
    penalty = "l2" if args.elastic_net == 0 else "elasticnet"
    threshold = args.target * (1 + 1e-6)
    total = 0.0
    for tol in [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]:
        extra = {} if penalty == "l2" else {"l1_ratio": args.elastic_net}
        model = LogisticRegression(C=1.0 / (n * args.reg), penalty=penalty, solver=solver, tol=tol, max_iter=100000,
                                   **extra)
        t0 = time.time()
        model.fit(Xs, y)
        seconds = time.time() - t0
        total += seconds
        objective = spark_objective(Xs, y, model.coef_, model.intercept_, args.reg, args.elastic_net)
        reached = objective <= threshold
        print("sklearn %s tol %g: objective %.12g in %.2f s (%d iterations)" %
              (solver, tol, objective, seconds, int(np.max(model.n_iter_))), file=sys.stderr, flush=True)
        if reached or total > args.budget_seconds:
            break
    result(tool="sklearn-" + solver, device="cpu", threads=os.environ.get("OMP_NUM_THREADS", "all"), rows=n,
           cols=X.shape[1], classes=int(y.max()) + 1, reg=args.reg, elastic_net=args.elastic_net,
           target="%.12g" % args.target, reached=int(reached), iterations=int(np.max(model.n_iter_)),
           objective="%.12g" % objective, seconds="%.4f" % seconds, tol=tol)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("tool", choices=["spark", "sklearn"])
    parser.add_argument("--features", required=True)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--cases", default="0.03:0,0.03:0.5")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--reg", type=float, default=0.03)
    parser.add_argument("--elastic-net", type=float, default=0.0)
    parser.add_argument("--target", type=float, default=0.0)
    parser.add_argument("--budget-seconds", type=float, default=900.0)
    args = parser.parse_args()
    X = np.load(args.features, mmap_mode="r")
    y = np.load(args.labels).reshape(-1).astype(np.int64)
    (spark_main if args.tool == "spark" else sklearn_main)(args, np.asarray(X), y)


if __name__ == "__main__":
    main()
