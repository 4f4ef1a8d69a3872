"""Evidently's data-drift report on the two windows driftcheck compares.

usage: compare.py FEATURES_JSON REFERENCE_BIN CURRENT_BIN

FEATURES_JSON lists the monitored feature names (drift.FeatureNames); the
two .bin files hold the windows' rows as little-endian float32, one row of
len(features) values after another, extracted by the Go side with
drift.Extract from the lake's flow_features (so both tools see the same
values). Runs Evidently's DataDriftPreset (its default per-column tests and
thresholds) and prints one JSON line: the seconds to load and to compute
the report, and per feature whether Evidently flags it, with its method,
score and threshold.
"""

import json
import sys
import time

import numpy as np
import pandas as pd


def load(path, names):
    x = np.fromfile(path, dtype="<f4")
    if x.size % len(names):
        raise SystemExit(f"{path}: {x.size} values, not rows of {len(names)}")
    return pd.DataFrame(x.reshape(-1, len(names)).astype(np.float64), columns=names)


def main():
    t0 = time.perf_counter()
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    with open(sys.argv[1]) as f:
        names = json.load(f)
    ref = load(sys.argv[2], names)
    cur = load(sys.argv[3], names)
    t1 = time.perf_counter()
    definition = DataDefinition(numerical_columns=names)
    report = Report([DataDriftPreset()])
    snap = report.run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )
    t2 = time.perf_counter()
    features = {}
    for m in snap.dict()["metrics"]:
        cfg = m.get("config", {})
        col = cfg.get("column")
        if cfg.get("type", "").endswith("ValueDrift") and col in ref.columns:
            score = float(m["value"])
            threshold = float(cfg.get("threshold") or 0)
            method = cfg.get("method", "")
            # p-value tests drift below the threshold; distances above it.
            pvalue = "p_value" in method or "test" in method
            drifted = score < threshold if pvalue else score >= threshold
            features[col] = {
                "method": method,
                "score": score,
                "threshold": threshold,
                "drifted": drifted,
            }
    missing = [n for n in names if n not in features]
    if missing:
        raise SystemExit(
            f"no drift result for {missing}; metrics: {[m.get('config', {}) for m in snap.dict()['metrics']][:3]}"
        )
    json.dump(
        {
            "evidently": __import__("evidently").__version__,
            "reference_rows": len(ref),
            "current_rows": len(cur),
            "load_seconds": t1 - t0,
            "report_seconds": t2 - t1,
            "features": features,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
