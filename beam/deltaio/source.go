package deltaio

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/schema"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// WeekSource is a pinned selection of the flows table by week: what the
// aggregate and features jobs read.
type WeekSource struct {
	Table    TableSpec
	Version  int64  // the pinned version
	TableID  string // metaData.id, part of the jobs' txn app ids
	PartCols []string
	Weeks    []string         // selected weeks, sorted
	Files    []lakehouse.Add  // live files of the selected weeks at Version
	ByWeek   map[string]int64 // rows per selected week (from stats)
}

// SelectWeeks opens table at version (negative: latest) and selects the
// weeks that hold days in [from, to] (zero: unbounded), with their files.
// Whole weeks are selected because the derived tables are replaced by week.
// The week of a file is its `week` partition value, or its `week` column
// statistics when the table is not partitioned by week.
func SelectWeeks(ctx context.Context, table TableSpec, version int64, from, to time.Time) (*WeekSource, error) {
	tab, err := table.Open(ctx)
	if err != nil {
		return nil, err
	}
	var snap *lakehouse.Snapshot
	if version < 0 {
		snap, err = tab.Snapshot(ctx)
	} else {
		snap, err = tab.SnapshotAt(ctx, version)
	}
	if err != nil {
		return nil, fmt.Errorf("deltaio: %s: %w", table.Name, err)
	}
	src := &WeekSource{Table: table, Version: snap.Version, TableID: snap.Metadata.ID,
		PartCols: snap.Metadata.PartitionColumns, ByWeek: map[string]int64{}}
	want := map[string]bool{}
	if !from.IsZero() || !to.IsZero() {
		if from.IsZero() || to.IsZero() {
			return nil, fmt.Errorf("deltaio: give both ends of the day range or neither")
		}
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			want[schema.WeekLabel(d)] = true
		}
	}
	for _, a := range snap.Files() {
		lo, hi := StatString(a, "week")
		if lo == "" || lo != hi {
			return nil, fmt.Errorf("deltaio: %s: cannot tell the week of file %s (weeks %q..%q)", table.Name, a.Path, lo, hi)
		}
		if len(want) > 0 && !want[lo] {
			continue
		}
		src.Files = append(src.Files, a)
		if _, ok := src.ByWeek[lo]; !ok {
			src.Weeks = append(src.Weeks, lo)
		}
		src.ByWeek[lo] += max(NumRecords(a), 0)
	}
	if len(want) > 0 {
		// Recompute every asked-for week, also one that has no flows
		// (any derived rows of it are stale).
		src.Weeks = src.Weeks[:0]
		for w := range want {
			src.Weeks = append(src.Weeks, w)
		}
	}
	slices.Sort(src.Weeks)
	return src, nil
}

// WeekOf returns the week of a file selected by SelectWeeks.
func WeekOf(a lakehouse.Add) string {
	lo, _ := StatString(a, "week")
	return lo
}

// WeekPartitions renders weeks as replace-where partitions on `week`.
func WeekPartitions(weeks []string) []map[string]string {
	out := make([]map[string]string, 0, len(weeks))
	for _, w := range weeks {
		out = append(out, map[string]string{"week": w})
	}
	return out
}
