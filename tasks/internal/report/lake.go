package report

import (
	"context"
	"errors"
	"fmt"

	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// Table names of the lake the report reads (lakehouse/catalog).
var (
	HourlyTable    = catalog.TrafficHourly.Name
	ForecastsTable = catalog.Forecasts.Name
	UsageTable     = catalog.AppUsageDaily.Name
	DriftTable     = catalog.DriftMetrics.Name
	// ReplayTable is read when present (make replay writes it); it is not
	// one of Tables.
	ReplayTable = catalog.ReplayWeekly.Name
)

// Tables lists the tables the report reads, in the order of the page.
var Tables = []string{HourlyTable, ForecastsTable, UsageTable, DriftTable}

// readTable reads table name of the lake at version (< 0: the latest,
// resolved once). A table that does not exist yet gives no rows and a
// TableRef marked Absent; a pinned version that does not exist is an error.
func readTable[T any](ctx context.Context, lake, name string, version int64, opts storage.Options) ([]T, TableRef, error) {
	tab, err := catalog.Lookup(name)
	if err != nil {
		return nil, TableRef{}, fmt.Errorf("report: %w", err)
	}
	ref := TableRef{Name: name, URI: tab.URI(lake), Version: -1}
	t, err := tab.Open(ctx, lake, opts, lakehouse.Options{})
	if errors.Is(err, lakehouse.ErrNotTable) {
		if version >= 0 {
			return nil, ref, fmt.Errorf("report: %s: version %d pinned, but the table does not exist", ref.URI, version)
		}
		ref.Absent = true
		return nil, ref, nil
	}
	if err != nil {
		return nil, ref, fmt.Errorf("report: %s: %w", name, err)
	}
	snap, err := catalog.Snapshot(ctx, t, version)
	if err != nil {
		return nil, ref, fmt.Errorf("report: %s: %w", name, err)
	}
	ref.Version = snap.Version
	var rows []T
	for r, err := range lakehouse.Rows[T](ctx, t, snap) {
		if err != nil {
			return nil, ref, fmt.Errorf("report: %s@%d: %w", name, snap.Version, err)
		}
		rows = append(rows, r)
	}
	ref.Rows = len(rows)
	return rows, ref, nil
}

// source names a table version for a section's caption.
func (r TableRef) source() string { return fmt.Sprintf("%s@%d", r.Name, r.Version) }

// absentNote is the message of a section whose table does not exist.
func absentNote(r TableRef, producer string) string {
	return fmt.Sprintf("Table %s does not exist yet at %s (%s writes it).", r.Name, r.URI, producer)
}
