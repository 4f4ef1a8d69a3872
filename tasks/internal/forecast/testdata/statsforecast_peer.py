"""Peer forecasts with statsforecast on exactly the series and origins of a Go backtest.

Input (written by the Go test):
  DIR/series.csv    unique_id,ds,y   hourly, ds in UTC (ISO 8601), y empty for a gap
  DIR/config.json   {"origins": [ISO UTC, ...], "horizon": 24, "levels": [80, 95],
                     "models": ["SeasonalNaive24", "SeasonalNaive168", "MSTL", "MSTL_log"]}
Output:
  DIR/peer_forecasts.csv  model,unique_id,origin,ds,point,lo80,hi80,lo95,hi95
  DIR/peer_timing.json    {"versions": {...}, "seconds": {model: fit+predict seconds}}

For each origin every model sees only the hours before it. statsforecast needs gapless
series, so gaps (missing days) in that history are filled with the value one week
earlier, else one week later (still before the origin), else by interpolation. MSTL uses
seasons 24 and 168 with its default AutoETS trend; MSTL_log fits log1p(y) and maps the
forecast and bounds back with expm1.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsforecast
from statsforecast import StatsForecast
from statsforecast.models import MSTL, SeasonalNaive

WEEK = 168


def fill_gaps(y: np.ndarray) -> np.ndarray:
    """Fill NaNs from one week earlier, then one week later, then interpolate."""
    y = y.copy()
    for _ in range(4):
        gap = np.isnan(y)
        if not gap.any():
            return y
        earlier = np.full_like(y, np.nan)
        earlier[WEEK:] = y[:-WEEK]
        later = np.full_like(y, np.nan)
        later[:-WEEK] = y[WEEK:]
        y = np.where(gap & ~np.isnan(earlier), earlier, y)
        gap = np.isnan(y)
        y = np.where(gap & ~np.isnan(later), later, y)
    s = pd.Series(y).interpolate(limit_direction="both")
    return s.fillna(0.0).to_numpy()


def make_model(name: str):
    if name == "SeasonalNaive24":
        return SeasonalNaive(season_length=24, alias=name)
    if name == "SeasonalNaive168":
        return SeasonalNaive(season_length=168, alias=name)
    if name in ("MSTL", "MSTL_log"):
        return MSTL(season_length=[24, 168], alias=name)
    raise SystemExit(f"unknown model {name}")


def history(df: pd.DataFrame, origin: pd.Timestamp, log: bool) -> pd.DataFrame:
    """The gap-filled hours before origin, per series."""
    parts = []
    for uid, g in df[df["ds"] < origin].groupby("unique_id", sort=False):
        y = fill_gaps(g["y"].to_numpy(dtype=float))
        if log:
            y = np.log1p(np.maximum(y, 0.0))
        parts.append(pd.DataFrame({"unique_id": uid, "ds": g["ds"].to_numpy(), "y": y}))
    return pd.concat(parts, ignore_index=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    args = ap.parse_args()
    cfg = json.loads((args.dir / "config.json").read_text())
    horizon, levels = int(cfg["horizon"]), [int(x) for x in cfg["levels"]]
    df = pd.read_csv(args.dir / "series.csv", dtype={"unique_id": str})
    df["ds"] = pd.to_datetime(df["ds"], utc=True).dt.tz_localize(None)
    df = df.sort_values(["unique_id", "ds"], kind="stable")
    origins = [
        pd.Timestamp(o).tz_convert("UTC").tz_localize(None) for o in cfg["origins"]
    ]

    seconds = {}
    out = []
    for name in cfg["models"]:
        log = name.endswith("_log")
        spent = 0.0
        for k, origin in enumerate(origins):
            train = history(df, origin, log)
            sf = StatsForecast(models=[make_model(name)], freq="h", n_jobs=1)
            t0 = time.perf_counter()
            fc = sf.forecast(df=train, h=horizon, level=levels)
            spent += time.perf_counter() - t0
            cols = {"point": name}
            for lv in levels:
                cols[f"lo{lv}"] = f"{name}-lo-{lv}"
                cols[f"hi{lv}"] = f"{name}-hi-{lv}"
            res = pd.DataFrame(
                {
                    "model": name,
                    "unique_id": fc["unique_id"].astype(str),
                    "origin": origin,
                    "ds": fc["ds"],
                }
            )
            for c, src in cols.items():
                v = fc[src].to_numpy(dtype=float)
                res[c] = np.maximum(np.expm1(v), 0.0) if log else v
            out.append(res)
            print(
                f"peer: {name} origin {k + 1}/{len(origins)} {origin} ({spent:.1f}s)",
                file=sys.stderr,
            )
        seconds[name] = spent
    res = pd.concat(out, ignore_index=True)
    res["origin"] = pd.to_datetime(res["origin"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    res["ds"] = pd.to_datetime(res["ds"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    res.to_csv(args.dir / "peer_forecasts.csv", index=False, float_format="%.6g")
    versions = {
        "statsforecast": statsforecast.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }
    (args.dir / "peer_timing.json").write_text(
        json.dumps({"versions": versions, "seconds": seconds}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
