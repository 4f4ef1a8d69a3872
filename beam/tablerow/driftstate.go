package tablerow

// DriftState is one row of the drift_state table (partitioned by day): what
// the daily drift check carries to the next day (ADWIN windows, tracked
// candidate services, alerts in force), as the JSON of drift.State, for one
// reference model.
type DriftState struct {
	Day             string `parquet:"day"`       // partition: the day checked, YYYY-MM-DD
	Reference       string `parquet:"reference"` // model the state belongs to: "name@version"
	State           string `parquet:"state"`     // JSON
	FeaturesVersion int64  `parquet:"features_version"`
}
