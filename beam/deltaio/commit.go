package deltaio

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

func init() {
	register.Combiner3[[]string, string, []string](&collectFn{})
	register.DoFn3x1[context.Context, []string, func(string), error](&commitFn{})
	register.Emitter1[string]()
}

// Commit modes (CommitSpec.Mode); see the package doc.
const (
	ModeAppend            = "append"
	ModeReplaceDays       = "replace_days"
	ModeReplacePartitions = "replace_partitions"
)

// TxnVersion is the version of every txn action the pipelines write: each
// run has its own AppID, committed once.
const TxnVersion = 1

// CommitSpec says how to commit the files of one table.
type CommitSpec struct {
	Table TableSpec
	Mode  string
	// Days are the days (YYYY-MM-DD) replaced in ModeReplaceDays.
	Days []string
	// DayColumn is the column holding the day (default "day").
	DayColumn string
	// RowType is the name given to RegisterRowType, needed to rewrite
	// files that straddle replaced days (ModeReplaceDays).
	RowType string
	// Partitions are replaced in ModeReplacePartitions.
	Partitions []map[string]string
	// AppID is the txn app id of the run; the commit is skipped when the
	// table already holds it.
	AppID string
	// Params go into commitInfo.operationParameters (for example the
	// source table versions).
	Params map[string]string
}

// CommitResult reports one table's commit; the commit step emits it as JSON.
type CommitResult struct {
	Table    string           `json:"table"`
	AppID    string           `json:"app_id"`
	Version  int64            `json:"version"`
	Skipped  bool             `json:"skipped"`
	Added    int              `json:"files_added"`
	Removed  int              `json:"files_removed"`
	Counters map[string]int64 `json:"counters,omitempty"`
}

// Commit collects every manifest of a run into one element and commits
// each table of specs once, in order. It fails when it did not get exactly
// expectUnits manifests (0: no check). It returns a PCollection<string> of
// CommitResult JSON, one per spec.
func Commit(s beam.Scope, specs []CommitSpec, expectUnits int, manifests beam.PCollection) beam.PCollection {
	s = s.Scope("deltaio.Commit")
	all := beam.Combine(s, &collectFn{}, manifests)
	return beam.ParDo(s, &commitFn{Specs: specs, ExpectUnits: expectUnits}, all)
}

// collectFn gathers strings into one slice (manifests are small).
type collectFn struct{}

func (*collectFn) CreateAccumulator() []string              { return nil }
func (*collectFn) AddInput(acc []string, s string) []string { return append(acc, s) }
func (*collectFn) MergeAccumulators(a, b []string) []string { return append(a, b...) }
func (*collectFn) ExtractOutput(acc []string) []string      { return acc }

// commitFn makes the one commit per table of a run.
type commitFn struct {
	Specs       []CommitSpec
	ExpectUnits int
}

func (f *commitFn) ProcessElement(ctx context.Context, items []string, emit func(string)) error {
	m, err := mergeManifests(items)
	if err != nil {
		return err
	}
	if f.ExpectUnits > 0 && len(m.units) != f.ExpectUnits {
		return fmt.Errorf("deltaio: commit: got %d manifests, planned %d", len(m.units), f.ExpectUnits)
	}
	if dup := firstDuplicate(m.units); dup != "" {
		return fmt.Errorf("deltaio: commit: unit %s reported twice", dup)
	}
	for _, spec := range f.Specs {
		spec = withReports(spec, m)
		res, err := CommitTable(ctx, spec, m.adds[spec.Table.Name], m.counters)
		if err != nil {
			return err
		}
		log.Infof(ctx, "deltaio: %s: version %d (skipped=%v), %d files added, %d removed", spec.Table.Name, res.Version, res.Skipped, res.Added, res.Removed)
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("deltaio: %w", err)
		}
		emit(string(b))
	}
	return nil
}

// PartialSuffix ends the txn app id of a commit that left quarantined
// units out: a rerun of the same inputs is not "already done" (the table
// does not hold the whole run), and the driver finds the partial commit
// under AppID+PartialSuffix.
const PartialSuffix = ".partial"

// withReports adapts a spec to the run's manifests: quarantined days are
// not replaced (they keep what the table held), the app id says the commit
// is partial, and the units' reports go into the commit's parameters.
func withReports(spec CommitSpec, m merged) CommitSpec {
	if len(m.quarantined) > 0 {
		spec.AppID += PartialSuffix
		spec.Days = slices.DeleteFunc(slices.Clone(spec.Days), func(d string) bool { return m.quarantined[d] })
	}
	if len(m.reports) > 0 {
		b, err := json.Marshal(m.reports)
		if err == nil {
			spec.Params = maps.Clone(spec.Params)
			if spec.Params == nil {
				spec.Params = map[string]string{}
			}
			spec.Params[ParamUnits] = string(b)
		}
	}
	return spec
}

func firstDuplicate(sorted []string) string {
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return sorted[i]
		}
	}
	return ""
}

// Operation parameters written by CommitTable.
const (
	ParamRun      = "telcotraffic.run"
	ParamCounters = "telcotraffic.counters"
	// ParamUnits holds the JSON array of the units' reports (Manifest.Report).
	ParamUnits = "telcotraffic.units"
)

// CommitTable commits adds (files already written) to the table of spec
// in one transaction with the spec's txn, replacing what the mode says.
// It is what the commit step runs; exported for drivers and tests.
func CommitTable(ctx context.Context, spec CommitSpec, adds []lakehouse.Add, counters map[string]int64) (CommitResult, error) {
	res := CommitResult{Table: spec.Table.Name, AppID: spec.AppID, Counters: counters}
	if spec.AppID == "" {
		return res, fmt.Errorf("deltaio: commit %s: no app id", spec.Table.Name)
	}
	tab, err := spec.Table.Open(ctx)
	if err != nil {
		return res, err
	}
	snap, err := tab.Snapshot(ctx)
	if err != nil {
		return res, fmt.Errorf("deltaio: %s: %w", spec.Table.Name, err)
	}
	if v, ok := snap.AppVersion(spec.AppID); ok && v >= TxnVersion {
		res.Version, res.Skipped = snap.Version, true
		return res, nil
	}
	params := map[string]any{ParamRun: spec.AppID}
	if len(counters) > 0 {
		params[ParamCounters] = counters
	}
	for k, v := range spec.Params {
		params[k] = v
	}
	rv := snap.Version
	c := lakehouse.Commit{Adds: adds, Txn: &lakehouse.Txn{AppID: spec.AppID, Version: TxnVersion}, ReadVersion: &rv, OperationParameters: params}
	switch spec.Mode {
	case ModeAppend, "":
		c.Mode = lakehouse.ModeAppend
	case ModeReplacePartitions:
		c.Mode = lakehouse.ModeReplaceWhere
		c.Partitions = spec.Partitions
		if c.Partitions == nil {
			c.Partitions = []map[string]string{}
		}
	case ModeReplaceDays:
		c.Mode = lakehouse.ModeAppend
		removes, extra, err := planReplaceDays(ctx, tab, snap, spec)
		if err != nil {
			return res, err
		}
		c.Removes = removes
		c.Adds = append(slices.Clip(c.Adds), extra...)
		params["predicate"] = fmt.Sprintf("%s IN %v", dayColumn(spec), spec.Days)
	default:
		return res, fmt.Errorf("deltaio: commit %s: unknown mode %q", spec.Table.Name, spec.Mode)
	}
	if c.Mode == lakehouse.ModeReplaceWhere && len(c.Partitions) == 0 {
		c.Mode = lakehouse.ModeAppend // nothing to replace
	}
	cr, err := tab.Commit(ctx, c)
	if err != nil {
		return res, fmt.Errorf("deltaio: commit %s: %w", spec.Table.Name, err)
	}
	res.Version, res.Skipped, res.Added, res.Removed = cr.Version, cr.Skipped, len(c.Adds), cr.Removed
	if cr.CheckpointErr != nil {
		log.Warnf(ctx, "deltaio: %s: checkpoint after version %d failed (table is fine): %v", spec.Table.Name, cr.Version, cr.CheckpointErr)
	}
	return res, nil
}

func dayColumn(spec CommitSpec) string {
	if spec.DayColumn != "" {
		return spec.DayColumn
	}
	return "day"
}

// planReplaceDays finds the live files holding rows of spec.Days: files
// whose day range lies inside the days are removed; files that straddle
// are rewritten without those rows (the new files are returned as extra
// adds).
func planReplaceDays(ctx context.Context, tab *lakehouse.Table, snap *lakehouse.Snapshot, spec CommitSpec) ([]lakehouse.Remove, []lakehouse.Add, error) {
	if len(spec.Days) == 0 {
		return nil, nil, nil
	}
	col := dayColumn(spec)
	drop := map[string]bool{}
	vals := make([]any, 0, len(spec.Days))
	for _, d := range spec.Days {
		drop[d] = true
		vals = append(vals, d)
	}
	var removes []lakehouse.Remove
	var extra []lakehouse.Add
	for _, a := range snap.Files(lakehouse.Filter{Column: col, Op: lakehouse.In, Values: vals}) {
		lo, hi, ok := dayRange(a, col)
		if ok && allDropped(lo, hi, drop) {
			removes = append(removes, lakehouse.Remove{Path: a.Path, DataChange: true})
			continue
		}
		rt := rowTypes[spec.RowType]
		if rt == nil {
			return nil, nil, fmt.Errorf("deltaio: %s: file %s may hold days %s..%s besides the replaced ones; register its row type to rewrite it", spec.Table.Name, a.Path, lo, hi)
		}
		adds, dropped, err := rt.rewrite(ctx, tab, a, col, drop)
		if err != nil {
			return nil, nil, err
		}
		if dropped == 0 {
			continue // stats were loose: nothing of those days in the file
		}
		removes = append(removes, lakehouse.Remove{Path: a.Path, DataChange: true})
		extra = append(extra, adds...)
	}
	return removes, extra, nil
}

// dayRange returns the day bounds of a file from its partition value or
// its column statistics.
func dayRange(a lakehouse.Add, col string) (lo, hi string, ok bool) {
	if v, found := a.PartitionValues[col]; found {
		return v, v, v != ""
	}
	if a.Stats == "" {
		return "", "", false
	}
	var st struct {
		Min map[string]any `json:"minValues"`
		Max map[string]any `json:"maxValues"`
	}
	if json.Unmarshal([]byte(a.Stats), &st) != nil {
		return "", "", false
	}
	lo, ok1 := st.Min[col].(string)
	hi, ok2 := st.Max[col].(string)
	return lo, hi, ok1 && ok2
}

// allDropped reports whether every day from lo to hi is in drop.
func allDropped(lo, hi string, drop map[string]bool) bool {
	if lo == hi {
		return drop[lo]
	}
	from, err1 := time.Parse(time.DateOnly, lo)
	to, err2 := time.Parse(time.DateOnly, hi)
	if err1 != nil || err2 != nil || to.Before(from) || to.Sub(from) > 366*24*time.Hour {
		return false
	}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if !drop[d.Format(time.DateOnly)] {
			return false
		}
	}
	return true
}
