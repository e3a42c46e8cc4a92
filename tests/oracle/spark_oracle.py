#!/usr/bin/env python3
"""Writes tests/fixtures/logreg/: inputs and PySpark 3.5 references for dlp's
LogisticRegression and MulticlassClassificationEvaluator.

Run with the oracle venv (pyspark 3.5.3, scikit-learn 1.5.2, numpy 1.26.4) and Java 17:
    /work/oracle-venv/bin/python tests/oracle/spark_oracle.py [out_dir]

Inputs are stored as little-endian float32 features (rows x cols, row-major) and
float64 labels / weights, so Spark and dlp train on bit-identical numbers.
Datasets:
  digits: scikit-learn's load_digits (1797 x 64, 10 classes; many constant-zero pixels).
  synth:  800 x 300 seeded, correlated features with very different scales and offsets,
          two constant columns, 4 classes (and a binary relabelling).
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "fixtures", "logreg")

if "JAVA_HOME" not in os.environ:
    for candidate in ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/openjdk-17"):
        if os.path.isdir(candidate):
            os.environ["JAVA_HOME"] = candidate
            break

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.ml.classification import LogisticRegression  # noqa: E402
from pyspark.ml.evaluation import MulticlassClassificationEvaluator  # noqa: E402
from pyspark.ml.linalg import Vectors  # noqa: E402
from pyspark.mllib.evaluation import MulticlassMetrics  # noqa: E402


def make_digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    return d.data.astype(np.float32), d.target.astype(np.float64)


def make_synth():
    rng = np.random.default_rng(20240501)
    n, d, k = 800, 300, 4
    z = rng.normal(size=(n, 40))
    a = rng.normal(size=(40, d))
    x = 0.4 * (z @ a) + rng.normal(size=(n, d))
    x = x * rng.uniform(0.1, 10.0, size=d) + rng.uniform(-5.0, 5.0, size=d)
    x[:, 7] = 3.5      # constant, non-zero: std 0 -> coefficient 0
    x[:, 150] = 0.0    # constant zero
    x = x.astype(np.float32)
    xs = x.astype(np.float64)
    std = xs.std(axis=0)
    std[std == 0] = 1
    w_true = rng.normal(size=(d, k)) * 0.12
    logits = ((xs - xs.mean(axis=0)) / std) @ w_true + rng.gumbel(size=(n, k)) * 1.5
    y = np.argmax(logits, axis=1).astype(np.float64)
    weights = rng.uniform(0.25, 2.0, size=n)
    return x, y, weights


def write_dataset(name, x, y, w=None):
    x.astype("<f4").tofile(os.path.join(OUT, f"{name}.features.f32"))
    y.astype("<f8").tofile(os.path.join(OUT, f"{name}.labels.f64"))
    meta = {"rows": int(x.shape[0]), "cols": int(x.shape[1]),
            "features": f"{name}.features.f32", "labels": f"{name}.labels.f64"}
    if w is not None:
        w.astype("<f8").tofile(os.path.join(OUT, f"{name}.weights.f64"))
        meta["weights"] = f"{name}.weights.f64"
    return meta


def to_df(spark, x, y, w):
    xs = x.astype(np.float64)
    rows = [(float(y[i]), float(w[i]) if w is not None else 1.0, Vectors.dense(xs[i])) for i in range(len(y))]
    return spark.createDataFrame(rows, ["label", "weight", "features"]).repartition(1).cache()


def fit_case(df, case):
    lr = LogisticRegression(maxIter=case["max_iter"], regParam=case["reg_param"],
                            elasticNetParam=case["elastic_net_param"], tol=case["tol"],
                            fitIntercept=case["fit_intercept"], standardization=case["standardization"],
                            family=case.get("family", "auto"))
    if case.get("weighted"):
        lr.setWeightCol("weight")
    model = lr.fit(df)
    multinomial = model.coefficientMatrix.numRows > 1 or case.get("family") == "multinomial"
    coef = model.coefficientMatrix.toArray()
    out = dict(case)
    out["multinomial"] = bool(multinomial)
    out["num_classes"] = int(model.numClasses)
    out["coefficients"] = [float(v) for v in coef.reshape(-1)]
    out["intercepts"] = [float(v) for v in model.interceptVector.toArray()]
    out["objective_history"] = [float(v) for v in model.summary.objectiveHistory]
    out["total_iterations"] = int(model.summary.totalIterations)
    if case["max_iter"] > 5:
        rows = model.transform(df).select("rawPrediction", "probability", "prediction").collect()
        out["predictions"] = [int(r.prediction) for r in rows]
        out["raw_head"] = [[float(v) for v in r.rawPrediction] for r in rows[:5]]
        out["probability_head"] = [[float(v) for v in r.probability] for r in rows[:5]]
    return out


GRID = [
    # (reg_param, elastic_net_param, standardization, fit_intercept)
    (0.03, 0.5, True, True),   # the brief's defaults
    (0.1, 0.0, True, True),    # pure L2 (L-BFGS)
    (0.01, 1.0, True, True),   # pure L1 (OWL-QN)
    (0.0, 0.0, True, True),    # no regularization: coefficients centred across classes
    (0.1, 0.0, False, True),   # L2 penalty in the original space
    (0.03, 0.5, False, True),  # elastic net in the original space
    (0.03, 0.5, True, False),  # no intercept
]


def cases_for(dataset, extra=()):
    cases = []
    for reg, alpha, std, icpt in list(GRID) + list(extra):
        for max_iter, tol in ((1000, 1e-10), (5, 1e-6)):
            cases.append({"dataset": dataset, "reg_param": reg, "elastic_net_param": alpha,
                          "standardization": std, "fit_intercept": icpt, "max_iter": max_iter, "tol": tol})
    return cases


def evaluator_cases(spark):
    """Spark's MulticlassClassificationEvaluator and mllib MulticlassMetrics on small sets."""
    rng = np.random.default_rng(7)
    n = 60
    labels = rng.integers(0, 4, size=n).astype(np.float64)           # true classes 0..3
    predictions = labels.copy()
    flip = rng.random(n) < 0.45
    predictions[flip] = rng.choice([0.0, 1.0, 2.0, 4.0], size=int(flip.sum()))  # 3 never predicted, 4 only predicted
    predictions[labels == 3] = rng.choice([0.0, 1.0, 4.0], size=int((labels == 3).sum()))
    weights = rng.uniform(0.1, 3.0, size=n)
    probs = rng.dirichlet(np.ones(5), size=n)
    probs[0, int(labels[0])] = 0.0          # clipped to eps
    probs[0] /= probs[0].sum()
    probs[1] = 0.0
    probs[1, int(labels[1])] = 1.0          # clipped to 1 - eps
    sets = [
        {"name": "weighted", "labels": labels, "predictions": predictions, "weights": weights, "probabilities": probs},
        {"name": "unweighted", "labels": labels, "predictions": predictions, "weights": None, "probabilities": probs},
    ]
    metric_names = ["f1", "accuracy", "weightedPrecision", "weightedRecall", "weightedTruePositiveRate",
                    "weightedFalsePositiveRate", "weightedFMeasure", "logLoss", "hammingLoss"]
    by_label = ["truePositiveRateByLabel", "falsePositiveRateByLabel", "precisionByLabel", "recallByLabel",
                "fMeasureByLabel"]
    out = []
    for s in sets:
        w = s["weights"] if s["weights"] is not None else np.ones(n)
        rows = [(float(s["labels"][i]), float(s["predictions"][i]), float(w[i]),
                 Vectors.dense([float(v) for v in s["probabilities"][i]])) for i in range(n)]
        df = spark.createDataFrame(rows, ["label", "prediction", "weight", "probability"]).repartition(1)
        result = {"name": s["name"], "labels": [float(v) for v in s["labels"]],
                  "predictions": [float(v) for v in s["predictions"]],
                  "weights": None if s["weights"] is None else [float(v) for v in s["weights"]],
                  "probabilities": [[float(v) for v in r] for r in s["probabilities"]], "class_count": 5}
        metrics = {}
        for beta in (1.0, 0.5):
            for name in metric_names:
                ev = MulticlassClassificationEvaluator(metricName=name, beta=beta)
                if s["weights"] is not None:
                    ev.setWeightCol("weight")
                key = name if beta == 1.0 else f"{name}@beta={beta}"
                metrics[key] = ev.evaluate(df)
        per_label = {}
        for name in by_label:
            values = []
            for label in (0.0, 1.0, 2.0, 3.0):
                ev = MulticlassClassificationEvaluator(metricName=name, metricLabel=label)
                if s["weights"] is not None:
                    ev.setWeightCol("weight")
                values.append(ev.evaluate(df))
            per_label[name] = values
        mm = MulticlassMetrics(df.select("prediction", "label", "weight").rdd.map(tuple))
        result["metrics"] = metrics
        result["per_label"] = per_label
        result["metric_labels"] = [0.0, 1.0, 2.0, 3.0]
        result["confusion_matrix"] = [[float(v) for v in row] for row in mm.confusionMatrix().toArray()]
        out.append(result)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    spark = (SparkSession.builder.master("local[2]").appName("dlp-logreg-oracle")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
             .config("spark.driver.memory", "2g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")

    digits_x, digits_y = make_digits()
    synth_x, synth_y, synth_w = make_synth()
    synth_bin = (synth_y >= 2).astype(np.float64)
    meta = {
        "spark_version": spark.version,
        "datasets": {
            "digits": write_dataset("digits", digits_x, digits_y),
            "synth": write_dataset("synth", synth_x, synth_y, synth_w),
        },
    }
    synth_bin.astype("<f8").tofile(os.path.join(OUT, "synth_binary.labels.f64"))
    meta["datasets"]["synth_binary"] = dict(meta["datasets"]["synth"], labels="synth_binary.labels.f64")

    frames = {
        "digits": to_df(spark, digits_x, digits_y, None),
        "synth": to_df(spark, synth_x, synth_y, synth_w),
        "synth_binary": to_df(spark, synth_x, synth_bin, synth_w),
    }
    cases = cases_for("digits") + cases_for("synth")
    for reg, alpha, std, icpt in ((0.01, 0.5, True, True), (0.0, 0.0, True, True), (0.05, 0.0, False, True),
                                  (0.02, 1.0, True, False)):
        for max_iter, tol in ((1000, 1e-10), (5, 1e-6)):
            cases.append({"dataset": "synth_binary", "reg_param": reg, "elastic_net_param": alpha,
                          "standardization": std, "fit_intercept": icpt, "max_iter": max_iter, "tol": tol})
    for max_iter, tol in ((1000, 1e-10), (5, 1e-6)):
        cases.append({"dataset": "synth", "reg_param": 0.05, "elastic_net_param": 0.3, "standardization": True,
                      "fit_intercept": True, "max_iter": max_iter, "tol": tol, "weighted": True})
        cases.append({"dataset": "synth_binary", "reg_param": 0.02, "elastic_net_param": 0.0,
                      "standardization": True, "fit_intercept": True, "max_iter": max_iter, "tol": tol,
                      "family": "multinomial"})
    results = []
    for i, case in enumerate(cases):
        r = fit_case(frames[case["dataset"]], case)
        print(f"[{i + 1}/{len(cases)}] {case['dataset']} reg={case['reg_param']} a={case['elastic_net_param']} "
              f"std={case['standardization']} icpt={case['fit_intercept']} maxIter={case['max_iter']}: "
              f"{r['total_iterations']} iterations, objective {r['objective_history'][-1]:.12g}", flush=True)
        results.append(r)
    meta["cases"] = results
    with open(os.path.join(OUT, "spark_logreg.json"), "w") as f:
        json.dump(meta, f, separators=(",", ":"))
    with open(os.path.join(OUT, "spark_evaluator.json"), "w") as f:
        json.dump({"spark_version": spark.version, "sets": evaluator_cases(spark)}, f, indent=1)
    spark.stop()


if __name__ == "__main__":
    main()
