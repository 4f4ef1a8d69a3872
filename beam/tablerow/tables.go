// Package tablerow holds the row types of the project's Delta tables (beyond
// flows and rejects, whose rows are the file format's cesnet.Flow and
// cesnet.Reject) and the traffic_hourly key; lakehouse/catalog names the
// tables they are rows of.
package tablerow

import "time"

// TrafficHourly is one row of the traffic_hourly table: the traffic of one
// service in one hour (UTC, truncated from TIME_FIRST). Partitioned by Week.
// HourlyKey is the traffic_hourly key of one flow: the UTC hour of its
// TIME_FIRST and the week of its flows partition (the dataset week of the
// day file it came from). The aggregate job and forecast's raw reader both
// key by it, so every flow lands in the same row either way: a flow at
// 23:30 UTC on a Sunday, read from Monday's file (Prague midnight), counts
// in Monday's week in both.
func HourlyKey(timeFirst time.Time, fileWeek string) (hour time.Time, week string) {
	return timeFirst.UTC().Truncate(time.Hour), fileWeek
}

type TrafficHourly struct {
	Hour       time.Time `parquet:"hour,timestamp(microsecond)"`
	App        string    `parquet:"app"`
	Category   string    `parquet:"category"`
	Flows      int64     `parquet:"flows"`
	Bytes      int64     `parquet:"bytes"`
	BytesRev   int64     `parquet:"bytes_rev"`
	Packets    int64     `parquet:"packets"`
	PacketsRev int64     `parquet:"packets_rev"`
	Week       string    `parquet:"week"`
}

// FlowFeatures is one row of the flow_features table: the model inputs of
// one flow and its label. The column meanings are a contract with the
// models, documented in package beam/features.
type FlowFeatures struct {
	ID       int64  `parquet:"id"`
	App      string `parquet:"app"`
	Category string `parquet:"category"`
	Day      string `parquet:"day"`
	Hour     int32  `parquet:"hour"` // hour of day of TIME_FIRST (UTC)
	// Stats has len(FeatureStats) entries in that order.
	Stats []float32 `parquet:"stats,list"`
	// PHist is the four PHIST_* histograms, each normalised to sum 1 (all
	// zero when empty): src sizes, dst sizes, src ipt, dst ipt; 32 entries.
	PHist []float32 `parquet:"phist,list"`
	// PPI is the packet sequence padded to 30 packets, packet-major:
	// PPI[4*i+c] is channel c of packet i. Padding is all zero (dir 0).
	PPI    []float32 `parquet:"ppi,list"`
	PPILen int32     `parquet:"ppi_len"`
	// SNIDomain is the SNI reduced to its registered domain plus the first
	// label ("api.spotify.com" → "api|spotify.com"); SNIBucket and
	// JA3Bucket are their hashed buckets (hashing trick).
	SNIDomain string `parquet:"sni_domain"`
	SNIBucket int32  `parquet:"sni_bucket"`
	JA3Bucket int32  `parquet:"ja3_bucket"`
	DstASN    int64  `parquet:"dst_asn"`
	Week      string `parquet:"week"`
}

// Forecast is one row of the forecasts table: a point forecast and its
// prediction intervals for one series and hour, made at one run.
type Forecast struct {
	RunDate string    `parquet:"run_date"` // partition: the forecast origin day
	Origin  time.Time `parquet:"origin,timestamp(microsecond)"`
	Hour    time.Time `parquet:"hour,timestamp(microsecond)"`
	Horizon int32     `parquet:"horizon"` // hours ahead, 1..24
	Series  string    `parquet:"series"`  // "total", "category:<name>" or "app:<name>"
	Metric  string    `parquet:"metric"`  // "bytes" or "flows"
	Point   float64   `parquet:"point"`
	Lower80 float64   `parquet:"lower_80"`
	Upper80 float64   `parquet:"upper_80"`
	Lower95 float64   `parquet:"lower_95"`
	Upper95 float64   `parquet:"upper_95"`
	Model   string    `parquet:"model"`
	Alert   bool      `parquet:"alert"` // upper_95 crosses the series' capacity threshold
}

// DriftMetric is one row of the drift_metrics table.
type DriftMetric struct {
	RunDate   string  `parquet:"run_date"`
	Window    string  `parquet:"window"`    // e.g. "2022-W11"
	Reference string  `parquet:"reference"` // e.g. "2022-W09"
	Scope     string  `parquet:"scope"`     // "all", "app:<name>", "category:<name>"
	Feature   string  `parquet:"feature"`
	Metric    string  `parquet:"metric"` // "kl", "psi", "share_shift", "adwin", "unknown_rate"
	Value     float64 `parquet:"value"`
	Threshold float64 `parquet:"threshold"`
	Alert     bool    `parquet:"alert"`
}

// FlowPrediction is one row of flow_predictions: the champion's verdict on
// one flow of flow_features, written by the score task.
type FlowPrediction struct {
	Day             string  `parquet:"day"` // partition: YYYY-MM-DD
	ID              int64   `parquet:"id"`  // flow_features.id
	App             string  `parquet:"app"` // predicted app ("" when unknown)
	Category        string  `parquet:"category"`
	Prob            float32 `parquet:"prob"` // max class probability
	Unknown         bool    `parquet:"unknown"`
	Variant         string  `parquet:"variant"`  // bundle used: "sni" or "no-sni"
	TrueApp         string  `parquet:"true_app"` // label in flow_features ("" when unlabelled)
	TrueCategory    string  `parquet:"true_category"`
	SNIDomain       string  `parquet:"sni_domain"`
	JA3Bucket       int32   `parquet:"ja3_bucket"`
	Bytes           int64   `parquet:"bytes"` // bytes both ways
	ModelName       string  `parquet:"model_name"`
	ModelVersion    string  `parquet:"model_version"`
	FeaturesVersion int64   `parquet:"features_version"` // flow_features version read
}

// AppUsageDaily is one row of app_usage_daily: per day and predicted app,
// the usage the score task estimated.
type AppUsageDaily struct {
	Day             string  `parquet:"day"` // partition: YYYY-MM-DD
	App             string  `parquet:"app"` // predicted app; "unknown" for flows flagged unknown
	Category        string  `parquet:"category"`
	Flows           int64   `parquet:"flows"`
	Bytes           int64   `parquet:"bytes"`
	Share           float64 `parquet:"share"`      // predicted share of the day's flows
	TrueShare       float64 `parquet:"true_share"` // share by label; -1 when the day is unlabelled
	MeanConfidence  float64 `parquet:"mean_confidence"`
	UnknownShare    float64 `parquet:"unknown_share"` // of the flows whose top class is this app
	ModelName       string  `parquet:"model_name"`
	ModelVersion    string  `parquet:"model_version"`
	FeaturesVersion int64   `parquet:"features_version"`
}
