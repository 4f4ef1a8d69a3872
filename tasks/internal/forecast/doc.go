// Package forecast owns capacity forecasting: hourly bytes and flows per
// service (the total, each category, each app with enough volume), 24 hours
// ahead from a daily origin at local midnight, with 80 % and 95 % prediction
// intervals and capacity alerts.
//
// Data: a Source yields traffic_hourly rows (RawSource aggregates raw flow
// files; a Delta reader plugs in the same way). BuildPanel turns them into
// series on one UTC hour grid; an hour without any row is a gap (NaN), never
// zero traffic. The Calendar speaks local time: hour, weekday, Czech public
// holidays (Easter computed), academic summer, winter break.
//
// Models: SeasonalNaive (seasons 24 and 168) as baselines and XGBoost, one
// direct multi-horizon tree ensemble for all series and horizons, on lag and
// calendar features in log1p space (see XGBoost for why). Conformal wraps any
// of them with split-conformal intervals calibrated per series and horizon on
// the residuals of the most recent days, and, for the main model, calibrates
// the daily peak of the point forecast (Conformal.Peaks), which a forecast
// of the mean flattens.
//
// Evaluation: Backtest forecasts from one origin per day over the last weeks,
// refitting daily or weekly, and scores RMSE, MAPE (non-zero hours), sMAPE,
// MASE against the seasonal naive 168, interval coverage, peak capture and
// peak-event recall and precision (PeakThreshold),
// per series and per group. Every fit and forecast sees only a Panel
// truncated at its origin, so the backtest cannot leak the future.
package forecast
