package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// Tables of the lake the daily check reads and writes (lakehouse/catalog).
var (
	MetricsTable     = catalog.DriftMetrics    // written, partitioned by run_date
	StateTable       = catalog.DriftState      // written, partitioned by day
	PredictionsTable = catalog.FlowPredictions // read (the score task's), partitioned by day
)

// openTable opens a table of the lake at its latest version; ok is false
// when it does not exist yet.
func openTable(ctx context.Context, lake string, tab catalog.Table, opts storage.Options) (t *lakehouse.Table, snap *lakehouse.Snapshot, ok bool, err error) {
	t, snap, err = tab.OpenAt(ctx, lake, catalog.Latest, opts, lakehouse.Options{})
	if errors.Is(err, lakehouse.ErrNotTable) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("drift: %w", err)
	}
	return t, snap, true, nil
}

// ReadPredictions passes the flow_predictions rows of day to fn. found is
// false when the table does not exist or has no rows of the day.
func ReadPredictions(ctx context.Context, lake, day string, opts storage.Options, fn func(*tablerow.FlowPrediction)) (found bool, version int64, err error) {
	uri := PredictionsTable.URI(lake)
	t, snap, ok, err := openTable(ctx, lake, PredictionsTable, opts)
	if err != nil || !ok {
		return false, -1, err
	}
	var n int64
	for r, err := range lakehouse.Rows[tablerow.FlowPrediction](ctx, t, snap, lakehouse.Filter{Column: "day", Op: lakehouse.Eq, Value: day}) {
		if err != nil {
			return false, -1, fmt.Errorf("drift: %s@%d: %w", uri, snap.Version, err)
		}
		if r.Day != day {
			continue
		}
		n++
		fn(&r)
	}
	return n > 0, snap.Version, nil
}

// LoadState returns the state to check day with: the state of the latest
// earlier day checked against the same reference, or a new state. done
// says day was already checked against this reference.
func LoadState(ctx context.Context, lake, day, reference string, opts storage.Options) (st *State, done bool, err error) {
	uri := StateTable.URI(lake)
	t, snap, ok, err := openTable(ctx, lake, StateTable, opts)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return NewState(reference), false, nil
	}
	var best *tablerow.DriftState
	for r, err := range lakehouse.Rows[tablerow.DriftState](ctx, t, snap) {
		if err != nil {
			return nil, false, fmt.Errorf("drift: %s@%d: %w", uri, snap.Version, err)
		}
		if r.Reference != reference {
			continue
		}
		if r.Day == day {
			done = true
		}
		if r.Day < day && (best == nil || r.Day > best.Day) {
			best = &r
		}
	}
	if best == nil {
		return NewState(reference), done, nil
	}
	st = NewState(reference)
	if err := json.Unmarshal([]byte(best.State), st); err != nil {
		return nil, false, fmt.Errorf("drift: %s@%d: state of %s: %w", uri, snap.Version, best.Day, err)
	}
	if st.Reference != reference {
		return nil, false, fmt.Errorf("drift: %s@%d: state of %s belongs to %s, row says %s", uri, snap.Version, best.Day, st.Reference, reference)
	}
	for k, d := range st.Detectors {
		if d == nil || d.Config.Validate() != nil {
			return nil, false, fmt.Errorf("drift: %s@%d: state of %s: bad detector %s", uri, snap.Version, best.Day, k)
		}
	}
	return st, done, nil
}

// replacePartition writes rows into a table partitioned by col, replacing
// the partition value (idempotent for a retried run).
func replacePartition[T any](ctx context.Context, lake string, table catalog.Table, col, value string, rows []T, opts storage.Options) (int64, error) {
	t, err := catalog.OpenOrCreate[T](ctx, table, lake, opts, lakehouse.Options{EngineInfo: "telcotraffic-driftcheck"})
	if err != nil {
		return 0, fmt.Errorf("drift: %w", err)
	}
	res, err := lakehouse.Write(ctx, t, rows, lakehouse.WriteOptions{Mode: lakehouse.ModeReplaceWhere,
		Partitions: []map[string]string{{col: value}}})
	if err != nil {
		return 0, fmt.Errorf("drift: %s: %w", table, err)
	}
	return res.Version, nil
}

// WriteMetrics replaces the day's rows of drift_metrics.
func WriteMetrics(ctx context.Context, lake, day string, rows []tablerow.DriftMetric, opts storage.Options) (int64, error) {
	for i := range rows {
		if rows[i].RunDate != day {
			return 0, fmt.Errorf("drift: metric row %d has run_date %q, want %s", i, rows[i].RunDate, day)
		}
	}
	return replacePartition(ctx, lake, MetricsTable, "run_date", day, rows, opts)
}

// WriteState replaces the day's row of drift_state.
func WriteState(ctx context.Context, lake, day string, st *State, featuresVersion int64, opts storage.Options) (int64, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return 0, fmt.Errorf("drift: state: %w", err)
	}
	rows := []tablerow.DriftState{{Day: day, Reference: st.Reference, State: string(b), FeaturesVersion: featuresVersion}}
	return replacePartition(ctx, lake, StateTable, "day", day, rows, opts)
}
