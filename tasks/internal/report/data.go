package report

import (
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
)

// Num is a number that encodes NaN (no value) as JSON null.
type Num = classify.Num

// Data is everything the page shows, embedded in it as JSON. Times are
// milliseconds since the Unix epoch (UTC); byte counts are bytes.
type Data struct {
	Title     string     `json:"title"`
	Generated string     `json:"generated"` // RFC 3339
	Lake      string     `json:"lake"`
	ECharts   string     `json:"echarts"` // vendored library version
	Tables    []TableRef `json:"tables"`  // every table read, at its pinned version
	MLflow    string     `json:"mlflow,omitempty"`

	Traffic    Traffic    `json:"traffic"`
	Forecast   Forecast   `json:"forecast"`
	Classifier Classifier `json:"classifier"`
	Usage      Usage      `json:"usage"`
	Drift      Drift      `json:"drift"`
	Lineage    Lineage    `json:"lineage"`
	// Replay is the frozen model vs the loop per week (replay_weekly,
	// written by `make replay`); nil when the lake has no such table.
	Replay *Replay `json:"replay,omitempty"`
}

// Replay is the replay_weekly table: per week, the frozen model and the
// loop's champion on the week's flows (no-SNI), forecast MASE, drift alert
// days, retrains and promotions.
type Replay struct {
	Section
	Weeks []ReplayRow `json:"weeks"`
}

// ReplayRow is one week of Replay (NaN: null).
type ReplayRow struct {
	Week           string `json:"week"`
	Flows          int64  `json:"flows"`
	FrozenMacroF1  Num    `json:"frozen_macro_f1_no_sni"`
	FrozenAccuracy Num    `json:"frozen_accuracy_no_sni"`
	LoopMacroF1    Num    `json:"loop_macro_f1_no_sni"`
	LoopAccuracy   Num    `json:"loop_accuracy_no_sni"`
	LoopVersion    string `json:"loop_version"`
	ForecastMASE   Num    `json:"forecast_mase"`
	DriftAlertDays int64  `json:"drift_alert_days"`
	Retrains       int64  `json:"retrains"`
	FalseRetrains  int64  `json:"false_retrains"`
	Promotions     int64  `json:"promotions"`
	Events         string `json:"events"`
}

func replayRow(w tablerow.ReplayWeek) ReplayRow {
	return ReplayRow{Week: w.Week, Flows: w.Flows, FrozenMacroF1: Num(w.FrozenMacroF1NoSNI), FrozenAccuracy: Num(w.FrozenAccuracy),
		LoopMacroF1: Num(w.LoopMacroF1NoSNI), LoopAccuracy: Num(w.LoopAccuracy), LoopVersion: w.LoopVersion,
		ForecastMASE: Num(w.ForecastMASE), DriftAlertDays: w.DriftAlertDays, Retrains: w.Retrains,
		FalseRetrains: w.FalseRetrains, Promotions: w.Promotions, Events: w.Events}
}

// TableRef names one table the report read and the Delta version it read.
type TableRef struct {
	Name    string `json:"name"`
	URI     string `json:"uri"`
	Version int64  `json:"version"` // -1 when absent
	Rows    int    `json:"rows"`
	Absent  bool   `json:"absent,omitempty"`
}

// Section is what every section has: the message shown instead of its
// charts when its source is absent, and the tables it read.
type Section struct {
	Absent string   `json:"absent,omitempty"`
	Source []string `json:"source,omitempty"` // e.g. "traffic_hourly@12"
}

// Series is one named line of values over a shared time axis.
type Series struct {
	Name   string  `json:"name"`
	Values []int64 `json:"values"`
}

// Traffic is bytes per hour per category and for the top apps, and the
// week-over-week change of their shares.
type Traffic struct {
	Section
	Hours      []int64       `json:"hours"`      // the hours with data, ascending
	Categories []Series      `json:"categories"` // bytes per hour, largest first
	Apps       []Series      `json:"apps"`       // top apps by bytes, then "other apps"
	WoW        []ShareChange `json:"wow"`        // categories, then apps with the largest moves
	Weeks      [2]string     `json:"weeks"`      // the weeks compared: previous, last
}

// ShareChange is the byte share of a category or app in the last two weeks.
type ShareChange struct {
	Kind  string  `json:"kind"` // "category" or "app"
	Name  string  `json:"name"`
	Prev  float64 `json:"prev"`  // share, 0..1
	Last  float64 `json:"last"`  // share, 0..1
	Delta float64 `json:"delta"` // percentage points
}

// Forecast is the forecasts of the total and each category against the
// actual traffic, with intervals, and the capacity alerts of the latest run.
type Forecast struct {
	Section
	RunDate string     `json:"run_date"` // the latest run
	Origin  int64      `json:"origin"`
	Model   string     `json:"model"`
	Metric  string     `json:"metric"` // "bytes" (else "flows")
	Series  []FcSeries `json:"series"`
	Alerts  []Alert    `json:"alerts"` // most severe first
}

// FcSeries is one forecast series over its hour axis: the week before the
// first forecast hour shown, then the forecast hours. Each hour shows the
// forecast of the latest origin before it.
type FcSeries struct {
	Name    string  `json:"name"` // "total" or "category:<name>"
	Hours   []int64 `json:"hours"`
	Actual  []Num   `json:"actual"`
	Point   []Num   `json:"point"`
	Lower80 []Num   `json:"lower_80"`
	Upper80 []Num   `json:"upper_80"`
	Lower95 []Num   `json:"lower_95"`
	Upper95 []Num   `json:"upper_95"`
}

// Alert is a series whose 95 % upper bound crosses its capacity threshold
// in the latest run. Severity is the peak upper bound over the series'
// highest hour of the four weeks before the origin (as the forecaster's
// default threshold is a headroom times that hour).
type Alert struct {
	Series   string  `json:"series"`
	Metric   string  `json:"metric"`
	First    int64   `json:"first_hour"`
	Hours    int     `json:"hours"`
	Upper95  float64 `json:"peak_upper_95"`
	Point    float64 `json:"peak_point"`
	Peak4w   float64 `json:"peak_4w"` // 0 when the series has no actuals
	Severity float64 `json:"severity"`
}

// Classifier is the champion classifier's evaluation: scores per test week
// with and without SNI, the weakest classes and the category confusion
// matrix of the first test week.
type Classifier struct {
	Section
	Model    string       `json:"model"`
	Version  string       `json:"version"`
	Alias    string       `json:"alias"`
	RunID    string       `json:"run_id"`
	RunURL   string       `json:"run_url"`
	Window   string       `json:"window"`
	Data     string       `json:"data"` // the table and version evaluated
	Weeks    []string     `json:"weeks"`
	Variants []VariantRow `json:"variants"`
	Weakest  []ClassRow   `json:"weakest"`
	// Confusion is the first test week's category confusion (with SNI):
	// Matrix[t][p] flows of true category Labels[t] predicted Labels[p].
	Confusion Confusion `json:"confusion"`
}

// VariantRow is one feature set's ensemble scores per test week.
type VariantRow struct {
	FeatureSet string `json:"feature_set"`
	MacroF1    []Num  `json:"macro_f1"`
	Accuracy   []Num  `json:"accuracy"`
	UnknownTPR []Num  `json:"unknown_tpr"`
}

// ClassRow is one class's scores in the first test week.
type ClassRow struct {
	FeatureSet string  `json:"feature_set"`
	Class      string  `json:"class"`
	F1         float64 `json:"f1"`
	Precision  float64 `json:"precision"`
	Recall     float64 `json:"recall"`
	Support    int64   `json:"support"`
}

// Confusion is a labelled count matrix.
type Confusion struct {
	Note   string    `json:"note,omitempty"` // why it is missing
	Labels []string  `json:"labels"`
	Matrix [][]int64 `json:"matrix"`
}

// Usage is app usage estimated by the score task against true shares.
type Usage struct {
	Section
	Days []string   `json:"days"`
	Apps []UsageApp `json:"apps"` // top apps by estimated flows
	// MAE is per day the mean absolute error of the estimated shares over
	// the apps (labelled days only; null otherwise).
	MAE []Num `json:"mae"`
}

// UsageApp is one app's estimated and true share per day.
type UsageApp struct {
	App       string `json:"app"`
	Category  string `json:"category"`
	Share     []Num  `json:"share"`
	TrueShare []Num  `json:"true_share"` // null where unlabelled
}

// Drift is the drift metrics over time, their alerts and the emerging
// services.
type Drift struct {
	Section
	Windows  []string      `json:"windows"`
	Metrics  []DriftSeries `json:"metrics"` // per metric: the highest value/threshold per window (scope all)
	Alerts   []DriftAlert  `json:"alerts"`  // newest window first
	Emerging []Emerging    `json:"emerging"`
}

// DriftSeries is one metric's highest value/threshold ratio per window.
type DriftSeries struct {
	Metric string `json:"metric"`
	Ratio  []Num  `json:"ratio"`
	Alerts []int  `json:"alerts"` // alerts in the window
}

// DriftAlert is one drift_metrics row with its alert set.
type DriftAlert struct {
	Window    string  `json:"window"`
	Reference string  `json:"reference"`
	Scope     string  `json:"scope"`
	Feature   string  `json:"feature"`
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
}

// Emerging is a service first seen after the first two weeks of
// traffic_hourly, with its bytes in the last week.
type Emerging struct {
	App       string  `json:"app"`
	Category  string  `json:"category"`
	FirstSeen string  `json:"first_seen"` // week
	LastWeek  int64   `json:"last_week_bytes"`
	Share     float64 `json:"last_week_share"`
}

// Lineage ties model versions to the Delta table versions they learned
// from and the runs that made them.
type Lineage struct {
	Section
	Versions []VersionRow `json:"versions"`
	Runs     []RunRow     `json:"runs"`
}

// VersionRow is one registered model version.
type VersionRow struct {
	Model   string             `json:"model"`
	Version string             `json:"version"`
	Aliases []string           `json:"aliases"`
	Created int64              `json:"created"`
	URL     string             `json:"url"`
	RunID   string             `json:"run_id"`
	RunURL  string             `json:"run_url"`
	Window  string             `json:"window"`
	Tables  map[string]int64   `json:"tables"`
	Scores  map[string]float64 `json:"scores"`
}

// RunRow is one run of an experiment the report follows (the forecaster).
type RunRow struct {
	Experiment string           `json:"experiment"`
	RunID      string           `json:"run_id"`
	Name       string           `json:"name"`
	URL        string           `json:"url"`
	Kind       string           `json:"kind"`
	Status     string           `json:"status"`
	Start      int64            `json:"start"`
	Inputs     map[string]int64 `json:"inputs"`
	Outputs    map[string]int64 `json:"outputs"`
}
