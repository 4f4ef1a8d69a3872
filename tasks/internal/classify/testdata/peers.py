"""Tree peers of BenchmarkPeers: LightGBM and Python XGBoost on the rows the
Go benchmark exported (train.csv, val.csv, test.csv: label then the tree
view's columns, empty = missing).

Each peer trains on train.csv, early-stops on val.csv and writes its test
probabilities as <name>.f32 (float32, rows × classes, little-endian); the Go
side computes every metric from those, so the definitions are the same for
all models. results.json lists name, CPU seconds of the fit (all threads)
and the rounds kept; open_scores.json lists per-row open-set scores of the
test rows (energy of the margins, <name>_energy.f32, float32, one per row).
Usage: peers.py DIR
"""

import json
import sys
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb


def load(path):
    df = pd.read_csv(path, dtype=np.float32)
    y = df.pop("label").to_numpy().astype(np.int32)
    return df.to_numpy(dtype=np.float32), y


def main(d):
    xt, yt = load(f"{d}/train.csv")
    xv, yv = load(f"{d}/val.csv")
    xs, _ = load(f"{d}/test.csv")
    with open(f"{d}/classes.json") as f:
        k = json.load(f)["classes"]
    out = []

    c0 = time.process_time()
    # lr 0.1 with small leaves diverges on the rare classes (validation loss
    # rises from round 2); 0.05 with LightGBM's default 20 rows per leaf is
    # stable.
    params = {"objective": "multiclass", "num_class": k, "learning_rate": 0.05, "num_leaves": 31,
              "min_data_in_leaf": 20, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
              "verbose": -1, "seed": 1}
    bst = lgb.train(params, lgb.Dataset(xt, yt), 1000, valid_sets=[lgb.Dataset(xv, yv)],
                    callbacks=[lgb.early_stopping(20, verbose=False)])
    cpu = time.process_time() - c0
    p = bst.predict(xs, num_iteration=bst.best_iteration).astype(np.float32)
    p.tofile(f"{d}/lightgbm.f32")
    scores = [energy(bst.predict(xs, num_iteration=bst.best_iteration, raw_score=True), d, "lightgbm",
                     "energy score (logsumexp of the raw margins) of LightGBM")]
    out.append({"name": f"LightGBM {lgb.__version__} (lr 0.05, 31 leaves, early stop 20)", "file": "lightgbm.f32",
                "cpu_s": cpu, "rounds": bst.best_iteration})

    c0 = time.process_time()
    dt = xgb.DMatrix(xt, label=yt)
    dv = xgb.DMatrix(xv, label=yv)
    params = {"objective": "multi:softprob", "num_class": k, "eta": 0.1, "max_depth": 6,
              "subsample": 0.8, "colsample_bytree": 0.8, "tree_method": "hist", "max_bin": 256,
              "eval_metric": "mlogloss", "seed": 1}
    bst = xgb.train(params, dt, num_boost_round=1000, evals=[(dv, "valid")], early_stopping_rounds=20,
                    verbose_eval=False)
    cpu = time.process_time() - c0
    p = bst.predict(xgb.DMatrix(xs), iteration_range=(0, bst.best_iteration + 1)).astype(np.float32)
    p.tofile(f"{d}/xgboost.f32")
    m = bst.predict(xgb.DMatrix(xs), iteration_range=(0, bst.best_iteration + 1), output_margin=True)
    scores.append(energy(m, d, "xgboost", "energy score (logsumexp of output_margin) of Python XGBoost"))
    out.append({"name": f"XGBoost {xgb.__version__} Python (eta 0.1, depth 6, 256 bins, early stop 20)",
                "file": "xgboost.f32", "cpu_s": cpu, "rounds": bst.best_iteration + 1})

    with open(f"{d}/results.json", "w") as f:
        json.dump(out, f)
    with open(f"{d}/open_scores.json", "w") as f:
        json.dump(scores, f)


def energy(margins, d, tag, name):
    """Writes the energy score (higher: more like a known class) of each test
    row and returns its entry for open_scores.json."""
    m = np.asarray(margins, dtype=np.float64)
    top = m.max(axis=1, keepdims=True)
    e = (top[:, 0] + np.log(np.exp(m - top).sum(axis=1))).astype(np.float32)
    e.tofile(f"{d}/{tag}_energy.f32")
    return {"name": name, "file": f"{tag}_energy.f32"}


if __name__ == "__main__":
    main(sys.argv[1])
