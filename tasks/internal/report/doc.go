// Package report builds the operator's report: one self-contained HTML page
// per run with traffic per category and top apps, forecasts against actuals
// with their intervals and capacity alerts, the classifier's scores, app
// usage estimated against true shares, drift, and model lineage.
//
// [Build] reads the lake's tables at pinned Delta versions (traffic_hourly,
// forecasts, app_usage_daily, drift_metrics; a table that does not exist yet
// becomes a section that says so) and MLflow (the champion classifier's
// evaluation report, its confusion matrix, model versions and forecaster
// runs) into a [Data] value; [Render] turns it into the page: Apache ECharts
// (vendored under vendor/echarts at the version [EChartsVersion]) and the
// data as JSON, both inline, so the page needs no network when viewed.
// [Write] puts the page at any storage URI (a path, file:// or s3://).
package report
