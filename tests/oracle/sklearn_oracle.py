#!/usr/bin/env python3
"""Cross-checks Spark's L2 multinomial logistic regression with scikit-learn.

Spark (standardization=true) minimizes (1/n) sum loss_i + regParam/2 ||W~||^2 over
coefficients W~ of the features divided by their unbiased std (intercepts unpenalized);
scikit-learn's lbfgs on those scaled features minimizes 1/2 ||W~||^2 + C sum loss_i
(intercepts unpenalized): the same optimum for C = 1 / (regParam * n); W = W~ / std.
(Without standardization the problem is ill-conditioned and lbfgs stops short.)
Writes tests/fixtures/logreg/sklearn_logreg.json for the synth dataset.
    /work/oracle-venv/bin/python tests/oracle/sklearn_oracle.py
"""
import json
import os

import numpy as np
from sklearn.linear_model import LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "logreg")


def main():
    with open(os.path.join(OUT, "spark_logreg.json")) as f:
        meta = json.load(f)
    d = meta["datasets"]["synth"]
    x = np.fromfile(os.path.join(OUT, d["features"]), dtype="<f4").reshape(d["rows"], d["cols"]).astype(np.float64)
    y = np.fromfile(os.path.join(OUT, d["labels"]), dtype="<f8").astype(int)
    reg = 0.1
    std = x.std(axis=0, ddof=1)
    inverse = np.where(std > 0, 1.0 / np.where(std > 0, std, 1.0), 0.0)
    model = LogisticRegression(C=1.0 / (reg * len(y)), solver="lbfgs", tol=1e-14, max_iter=100000)
    model.fit(x * inverse, y)
    coef = model.coef_ * inverse
    intercept = model.intercept_ - model.intercept_.mean()
    coef = coef - coef.mean(axis=0)  # the L2 optimum is already centred; removes rounding
    out = {"dataset": "synth", "reg_param": reg, "elastic_net_param": 0.0, "standardization": True,
           "fit_intercept": True, "coefficients": [float(v) for v in coef.reshape(-1)],
           "intercepts": [float(v) for v in intercept], "n_iter": int(model.n_iter_[0])}
    with open(os.path.join(OUT, "sklearn_logreg.json"), "w") as f:
        json.dump(out, f)
    print("sklearn iterations", out["n_iter"])


if __name__ == "__main__":
    main()
