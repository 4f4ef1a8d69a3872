// Package pipelineresult holds the pipeline binary's one-line JSON result
// (beam/cmd/pipeline) and the parse job's day reports it carries. It links
// no Beam: consumers (the demo, the DAG tests' Go side, other tasks) import
// the result type without the Beam SDK.
package pipelineresult

// Stats checks of a DayReport.
const (
	CheckOK       = "ok"       // rows read = the stats file's total-saved
	CheckNoStats  = "no_stats" // no stats file beside the day file
	CheckMismatch = "mismatch" // rows read differ: the day is quarantined
)

// DayReport is what parsing one day file found; the pipeline reads the
// reports of a run back from its flows commit.
type DayReport struct {
	File    string `json:"file"` // path under the dataset root
	Day     string `json:"day"`
	Rows    int64  `json:"rows"` // data rows read (good and rejected)
	Rejects int64  `json:"rejects"`
	// StatsRows is the stats file's global.total-saved (-1: no stats file).
	StatsRows int64  `json:"stats_rows"`
	Check     string `json:"check"`
	// Quarantined says why the file was set aside: none of its rows were
	// written, and its day keeps what the tables held before.
	Quarantined string `json:"quarantined,omitempty"`
	// ExtraColumns are header columns the decoder does not know (ignored).
	ExtraColumns []string `json:"extra_columns,omitempty"`
}

// Job is one job's part of the result.
type Job struct {
	Job         string           `json:"job"`
	Skipped     bool             `json:"skipped"`
	Reason      string           `json:"reason,omitempty"`
	Seconds     float64          `json:"seconds"`
	RowsIn      int64            `json:"rows_in"`
	RowsWritten int64            `json:"rows_written"`
	Rejects     int64            `json:"rejects,omitempty"`
	RowsPerSec  float64          `json:"rows_per_s"`
	Source      string           `json:"source,omitempty"`
	Commits     map[string]int64 `json:"commits,omitempty"` // table -> version of this run's commit
	// CPUSeconds is the pipeline process's CPU time (user+system) during
	// the job: with the embedded runner the workers run in the process, so
	// it is the job's whole cost, steadier than Seconds on a shared machine.
	CPUSeconds float64 `json:"cpu_s,omitempty"`
	// PeakMB is the process's peak resident set during the job (Linux: the
	// high-water mark is reset when the job starts; 0 where unknown).
	PeakMB float64 `json:"peak_mb,omitempty"`
}

// Table is the state of one table the pipeline writes, after the run.
type Table struct {
	Version int64
	Rows    int64
	Files   int64
}

// Result is the pipeline binary's result, written on success, on nothing
// to do (exit 99) and on failure (then with Error and, when one day file
// is to blame, File). A table's fields are absent while it does not exist;
// the parse fields are absent when parse did not run.
type Result struct {
	Job    string `json:"job"`
	Lake   string `json:"lake"`
	Runner string `json:"runner,omitempty"`

	// Parse: rows read, written to flows, and rejected.
	RowsIn       *int64 `json:"rows_in,omitempty"`
	RowsIngested *int64 `json:"rows_ingested,omitempty"`
	Rejects      *int64 `json:"rejects,omitempty"`
	// Days has one report per day file of the parse run; StatsCheck counts
	// them by Check; Quarantined lists the day files set aside.
	Days        []DayReport    `json:"days,omitempty"`
	StatsCheck  map[string]int `json:"stats_check,omitempty"`
	Quarantined []DayReport    `json:"quarantined,omitempty"`

	// The tables after the run (catalog names flows, rejects,
	// traffic_hourly, flow_features).
	FlowsVersion         *int64 `json:"flows_version,omitempty"`
	FlowsRows            *int64 `json:"flows_rows,omitempty"`
	FlowsFiles           *int64 `json:"flows_files,omitempty"`
	RejectsVersion       *int64 `json:"rejects_version,omitempty"`
	RejectsRows          *int64 `json:"rejects_rows,omitempty"`
	RejectsFiles         *int64 `json:"rejects_files,omitempty"`
	TrafficHourlyVersion *int64 `json:"traffic_hourly_version,omitempty"`
	TrafficHourlyRows    *int64 `json:"traffic_hourly_rows,omitempty"`
	TrafficHourlyFiles   *int64 `json:"traffic_hourly_files,omitempty"`
	FlowFeaturesVersion  *int64 `json:"flow_features_version,omitempty"`
	FlowFeaturesRows     *int64 `json:"flow_features_rows,omitempty"`
	FlowFeaturesFiles    *int64 `json:"flow_features_files,omitempty"`

	Jobs []Job `json:"jobs,omitempty"`

	// --job=compact (one week) and --job=all (the weeks its days closed):
	// per week, per table, what OPTIMIZE and VACUUM did.
	Compact map[string]map[string]CompactTable `json:"compact,omitempty"`

	// --job=vacuum and --job=compact: the retention and, for vacuum, the
	// files deleted per table.
	VacuumRetention string         `json:"vacuum_retention,omitempty"`
	VacuumDeleted   map[string]int `json:"vacuum_deleted,omitempty"`

	Error   string  `json:"error,omitempty"`
	File    string  `json:"file,omitempty"`
	Seconds float64 `json:"seconds"`
}

// SetTable records the state of the table named name (a catalog name);
// it reports false for a table the result has no fields for.
func (r *Result) SetTable(name string, t Table) bool {
	v, rows, files := r.fields(name)
	if v == nil {
		return false
	}
	*v, *rows, *files = &t.Version, &t.Rows, &t.Files
	return true
}

// Table returns the state of the table named name after the run, false
// when the result does not hold it.
func (r *Result) Table(name string) (Table, bool) {
	v, rows, files := r.fields(name)
	if v == nil || *v == nil {
		return Table{}, false
	}
	t := Table{Version: **v}
	if *rows != nil {
		t.Rows = **rows
	}
	if *files != nil {
		t.Files = **files
	}
	return t, true
}

func (r *Result) fields(name string) (version, rows, files **int64) {
	switch name {
	case "flows":
		return &r.FlowsVersion, &r.FlowsRows, &r.FlowsFiles
	case "rejects":
		return &r.RejectsVersion, &r.RejectsRows, &r.RejectsFiles
	case "traffic_hourly":
		return &r.TrafficHourlyVersion, &r.TrafficHourlyRows, &r.TrafficHourlyFiles
	case "flow_features":
		return &r.FlowFeaturesVersion, &r.FlowFeaturesRows, &r.FlowFeaturesFiles
	}
	return nil, nil, nil
}

// CompactTable is one table's part of a week's compaction: the OPTIMIZE
// commit and the files of the week before and after it, then VACUUM.
type CompactTable struct {
	Version      int64 `json:"version"` // the OPTIMIZE commit; -1: nothing to compact
	FilesRemoved int   `json:"files_removed"`
	FilesAdded   int   `json:"files_added"`
	FilesBefore  int   `json:"week_files_before"` // data files of the week before and after
	FilesAfter   int   `json:"week_files_after"`
	RowsWeek     int64 `json:"week_rows"`
	// RowsCopied moved with their row groups copied verbatim, RowsRewritten
	// were decoded and written again (small row groups, older schemas).
	RowsCopied    int64   `json:"rows_copied"`
	RowsRewritten int64   `json:"rows_rewritten"`
	Vacuumed      int     `json:"vacuum_deleted"`
	Seconds       float64 `json:"seconds"`
}
