"""Load a registered model with Python MLflow's own loaders and predict classes.

Usage: load_model.py MODEL_URI ROWS_JSON

ROWS_JSON holds {"X": [[...], ...]}. MLFLOW_TRACKING_URI names the server.
Prints one JSON line: the classes predicted through mlflow.xgboost and through
mlflow.pyfunc, the loaded type and the flavors of the model's MLmodel file.
"""

import json
import sys

import mlflow.models
import mlflow.pyfunc
import mlflow.xgboost
import numpy as np
import pandas as pd
import xgboost as xgb


def main() -> None:
    uri, rows_path = sys.argv[1], sys.argv[2]
    with open(rows_path, encoding="utf-8") as f:
        rows = np.asarray(json.load(f)["X"], dtype=np.float32)

    booster = mlflow.xgboost.load_model(uri)
    by_flavor = booster.predict(xgb.DMatrix(rows)).argmax(axis=1)

    pyfunc = mlflow.pyfunc.load_model(uri)
    by_pyfunc = np.asarray(pyfunc.predict(pd.DataFrame(rows))).argmax(axis=1)

    info = mlflow.models.get_model_info(uri)
    print(
        json.dumps(
            {
                "xgboost": by_flavor.tolist(),
                "pyfunc": by_pyfunc.tolist(),
                "type": type(booster).__name__,
                "flavors": sorted(info.flavors),
                "xgboost_flavor": info.flavors["xgboost"],
                "run_id": info.run_id,
            }
        )
    )


if __name__ == "__main__":
    main()
