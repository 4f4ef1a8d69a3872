package tablerow

// ReplayWeek is one row of replay_weekly: one week of a replayed quarter
// (`make replay`), the two classifier policies side by side on that week's
// flows: the frozen model (the first champion, never replaced) and the loop
// (the champion a live deployment had that week: weekly and drift-triggered
// retraining behind the promote gate). Scores are the no-SNI bundles'
// ensemble on the week's flows (sampled); NaN when not measured.
type ReplayWeek struct {
	Week               string  `parquet:"week"` // e.g. "2022-W07"
	FrozenVersion      string  `parquet:"frozen_version"`
	LoopVersion        string  `parquet:"loop_version"`
	Flows              int64   `parquet:"flows"` // flows scored per policy
	FrozenMacroF1NoSNI float64 `parquet:"frozen_macro_f1_no_sni"`
	FrozenAccuracy     float64 `parquet:"frozen_accuracy_no_sni"`
	LoopMacroF1NoSNI   float64 `parquet:"loop_macro_f1_no_sni"`
	LoopAccuracy       float64 `parquet:"loop_accuracy_no_sni"`
	ForecastMASE       float64 `parquet:"forecast_mase"`    // mean backtest MASE of the week's forecast runs
	DriftAlertDays     int64   `parquet:"drift_alert_days"` // days of the week with a drift alert
	Retrains           int64   `parquet:"retrains"`         // classifier versions trained in the week
	DriftRetrains      int64   `parquet:"drift_retrains"`   // of them, triggered by drift
	FalseRetrains      int64   `parquet:"false_retrains"`   // drift retrains with no manifest change in force
	Promotions         int64   `parquet:"promotions"`       // versions that became champion
	Events             string  `parquet:"events"`           // manifest changes starting in the week (kind[:app], comma-separated)
}
