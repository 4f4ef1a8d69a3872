// Package forecastresult holds the forecast task's one-line JSON result.
// It links nothing of the forecaster (no libxgboost): consumers such as
// the demo import the type without the model code.
package forecastresult

// TaskResult is the one-line JSON result of the forecast task (the task's
// main writes it; consumers such as the demo read it). The headline keys
// (mase, coverage_80, peak_capture, peak_event_recall, …) are the main
// model's backtest over all series (forecast.Metrics); percentages are 0–100.
type TaskResult struct {
	RunDate         string   `json:"run_date"`
	Origin          string   `json:"origin"`
	Series          int      `json:"series"`
	Hours           int      `json:"hours"`
	ForecastRows    int      `json:"forecast_rows"`
	Alerts          int      `json:"alerts"`
	BacktestOrigins int      `json:"backtest_origins"`
	RetrainDays     int      `json:"retrain_days"`
	MASE            *float64 `json:"mase"`
	MASESnaive168   *float64 `json:"mase_snaive168"`
	MASESnaive24    *float64 `json:"mase_snaive24"`
	SMAPE           *float64 `json:"smape"`
	MAPE            *float64 `json:"mape"`
	Coverage80      *float64 `json:"coverage_80"`
	Coverage95      *float64 `json:"coverage_95"`
	PeakCapture     *float64 `json:"peak_capture"`
	PeakHour        *float64 `json:"peak_hour"`
	PeakVolume      *float64 `json:"peak_volume"`
	PeakSnaive168   *float64 `json:"peak_capture_snaive168"`
	// PeakEventRecall and PeakEventPrecision: see forecast.Metrics.
	PeakEventRecall             *float64 `json:"peak_event_recall"`
	PeakEventPrecision          *float64 `json:"peak_event_precision"`
	PeakEventRecallSnaive168    *float64 `json:"peak_event_recall_snaive168"`
	PeakEventPrecisionSnaive168 *float64 `json:"peak_event_precision_snaive168"`
	// MASENoPeaks and PeakNoPeaks score the main model without its
	// calibrated daily peak (same fits; see forecast.NoPeaksSuffix).
	MASENoPeaks     *float64 `json:"mase_nopeaks,omitempty"`
	PeakNoPeaks     *float64 `json:"peak_capture_nopeaks,omitempty"`
	BacktestSeconds float64  `json:"backtest_seconds"`
	BacktestSnaive  float64  `json:"backtest_seconds_snaive168"`
	Seconds         float64  `json:"seconds"`
	Out             string   `json:"out"`
	// With --lake: the traffic_hourly version read and the forecasts
	// version written.
	HourlyVersion    *int64 `json:"traffic_hourly_version,omitempty"`
	ForecastsVersion *int64 `json:"forecasts_version,omitempty"`
	// With --experiment: the MLflow run logged and its page.
	MLflowRunID  string `json:"mlflow_run_id,omitempty"`
	MLflowRunURL string `json:"mlflow_run_url,omitempty"`
	// With --model-name: where the settings came from, "<model> version
	// <n>" (its champion's) or "defaults" (no champion yet).
	SettingsFrom string `json:"settings_from,omitempty"`
}
