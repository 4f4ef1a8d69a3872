// Package catalog names the project's Delta tables: each table's folder
// under a lake root (a local path or s3://bucket/prefix), its partition
// columns and the stage that writes it. It is the one place that joins a
// lake root and a table name, opens a table at a pinned version (Latest by
// default) and refuses a missing table instead of creating a folder.
//
// The row types live with the code that defines the data (beam/cesnet, beam/tablerow);
// the catalog imports only the lakehouse, so beam and every task use it.
package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// Latest, as a version, means the newest version, resolved when the
// snapshot is taken (and recorded by the reader from Snapshot.Version).
const Latest int64 = -1

// A Table is one table of the lake.
type Table struct {
	Name        string   // folder under the lake root
	PartitionBy []string // partition columns when the writer creates it
	Writer      string   // the stage that writes it
}

// The project's tables.
var (
	Flows           = Table{"flows", []string{"week", "app"}, "pipeline --job=parse"}
	Rejects         = Table{"rejects", []string{"week"}, "pipeline --job=parse"}
	TrafficHourly   = Table{"traffic_hourly", []string{"week"}, "pipeline --job=aggregate"}
	FlowFeatures    = Table{"flow_features", []string{"week"}, "pipeline --job=features"}
	Forecasts       = Table{"forecasts", []string{"run_date"}, "forecast"}
	FlowPredictions = Table{"flow_predictions", []string{"day"}, "score"}
	AppUsageDaily   = Table{"app_usage_daily", []string{"day"}, "score"}
	DriftMetrics    = Table{"drift_metrics", []string{"run_date"}, "driftcheck"}
	DriftState      = Table{"drift_state", []string{"day"}, "driftcheck"}
	ReplayWeekly    = Table{"replay_weekly", nil, "replay"}
)

// Tables lists every table in the order the stages write them.
func Tables() []Table {
	return []Table{Flows, Rejects, TrafficHourly, FlowFeatures, Forecasts, FlowPredictions, AppUsageDaily, DriftMetrics, DriftState, ReplayWeekly}
}

// Lookup returns the table named name.
func Lookup(name string) (Table, error) {
	for _, t := range Tables() {
		if t.Name == name {
			return t, nil
		}
	}
	return Table{}, fmt.Errorf("catalog: no table %q", name)
}

// URI returns the table's URI under lake.
func (t Table) URI(lake string) string { return storage.JoinURI(lake, t.Name) }

// Open opens the existing table under lake. A missing table is an error
// wrapping lakehouse.ErrNotTable, and nothing is created.
func (t Table) Open(ctx context.Context, lake string, so storage.Options, lo lakehouse.Options) (*lakehouse.Table, error) {
	uri := t.URI(lake)
	st, err := storage.Open(ctx, uri, so)
	if err != nil {
		return nil, fmt.Errorf("catalog: %s: %w", t.Name, err)
	}
	tab, err := lakehouse.Open(ctx, st, lo)
	if errors.Is(err, lakehouse.ErrNotTable) {
		return nil, fmt.Errorf("catalog: %s (%s): %w (it is written by %s)", t.Name, uri, err, t.Writer)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: %s (%s): %w", t.Name, uri, err)
	}
	return tab, nil
}

// OpenAt opens the existing table and its snapshot at version (Latest:
// the newest).
func (t Table) OpenAt(ctx context.Context, lake string, version int64, so storage.Options, lo lakehouse.Options) (*lakehouse.Table, *lakehouse.Snapshot, error) {
	tab, err := t.Open(ctx, lake, so, lo)
	if err != nil {
		return nil, nil, err
	}
	snap, err := Snapshot(ctx, tab, version)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: %s: %w", t.Name, err)
	}
	return tab, snap, nil
}

// Snapshot returns the table's snapshot at version; a negative version
// (Latest) means the newest one.
func Snapshot(ctx context.Context, tab *lakehouse.Table, version int64) (*lakehouse.Snapshot, error) {
	if version < 0 {
		return tab.Snapshot(ctx)
	}
	return tab.SnapshotAt(ctx, version)
}

// OpenOrCreate opens the table under lake, creating it with row type T and
// the table's partition columns when it does not exist yet.
func OpenOrCreate[T any](ctx context.Context, t Table, lake string, so storage.Options, lo lakehouse.Options) (*lakehouse.Table, error) {
	st, err := storage.Open(ctx, t.URI(lake), so)
	if err != nil {
		return nil, fmt.Errorf("catalog: %s: %w", t.Name, err)
	}
	tab, err := lakehouse.OpenOrCreate[T](ctx, st, lakehouse.CreateOptions{Name: t.Name, PartitionColumns: t.PartitionBy}, lo)
	if err != nil {
		return nil, fmt.Errorf("catalog: %s (%s): %w", t.Name, st.URI(), err)
	}
	return tab, nil
}
