"""Python xgboost peer for the xgb package's interop tests.

Matrices are raw little-endian float32 files, row-major; shapes come as arguments.

  peer.py predict MODEL X ROWS COLS OUT
      load MODEL (JSON or UBJ) and write its predictions on X to OUT;
      print {"version", "best_iteration", "feature_names", "rounds"} as JSON.
  peer.py train PARAMS_JSON ROUNDS XTRAIN YTRAIN ROWS COLS XTEST TROWS OUT
      train with xgboost.train on the same data and parameters, write
      predictions on XTEST to OUT; print {"version", "train_seconds"} as JSON.
"""
import json
import sys
import time

import numpy as np
import xgboost as xgb


def matrix(path, rows, cols):
    return np.fromfile(path, dtype="<f4").reshape(int(rows), int(cols))


def predict(model, x, rows, cols, out):
    booster = xgb.Booster(model_file=model)
    data = xgb.DMatrix(matrix(x, rows, cols), missing=np.nan, feature_names=booster.feature_names)
    booster.predict(data).astype("<f4").tofile(out)
    best = booster.attr("best_iteration")
    print(json.dumps({
        "version": xgb.__version__,
        "best_iteration": None if best is None else int(best),
        "feature_names": booster.feature_names,
        "rounds": booster.num_boosted_rounds(),
    }))


def train(params, rounds, xtrain, ytrain, rows, cols, xtest, trows, out):
    params = json.loads(params)
    dtrain = xgb.DMatrix(matrix(xtrain, rows, cols), label=np.fromfile(ytrain, dtype="<f4"), missing=np.nan)
    dtest = xgb.DMatrix(matrix(xtest, trows, cols), missing=np.nan)
    start = time.perf_counter()
    booster = xgb.train(params, dtrain, num_boost_round=int(rounds))
    seconds = time.perf_counter() - start
    booster.predict(dtest).astype("<f4").tofile(out)
    print(json.dumps({"version": xgb.__version__, "train_seconds": seconds}))


if __name__ == "__main__":
    {"predict": predict, "train": train}[sys.argv[1]](*sys.argv[2:])
