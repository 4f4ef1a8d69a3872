package deltaio

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
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
	snap, err := catalog.Snapshot(ctx, tab, version)
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
			want[cesnet.WeekLabel(d)] = true
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

// WeekJob describes a job that recomputes whole weeks of an output table
// from the flows table (the aggregate and features jobs).
type WeekJob struct {
	Name         string // job name: the txn app id is "<Name>.<Out.Name>"
	Lake         string
	FlowsVersion int64     // negative: latest
	From, To     time.Time // the weeks of these days (zero: every week)
	Out          TableSpec // partitioned by week
	UnitRows     int64     // rows per work unit
	UnitFiles    int       // data files per work unit at most
	// RunKey names what else makes a run distinct (e.g. bucket counts);
	// it enters the txn app id.
	RunKey []string
	Params map[string]string // extra commit parameters
}

// WeekPlan is a planned week job: the pinned flows selection, its work
// units, the commit, and whether the output already holds that commit.
type WeekPlan struct {
	Source *WeekSource
	Units  []Unit
	Spec   CommitSpec
	Done   bool
}

// PlanWeekJob pins the flows version, selects the weeks, creates the output
// table (row type T) if needed and derives the run's commit: a replace of
// the selected weeks under a txn app id built from the flows table id and
// version, the weeks and RunKey, so that running the same again is a no-op.
func PlanWeekJob[T any](ctx context.Context, j WeekJob) (*WeekPlan, error) {
	src, err := SelectWeeks(ctx, TableSpec{Lake: j.Lake, Name: catalog.Flows.Name}, j.FlowsVersion, j.From, j.To)
	if err != nil {
		return nil, err
	}
	tab, _, err := OpenOrCreate[T](ctx, j.Out)
	if err != nil {
		return nil, err
	}
	// A compaction of flows changes no row: the run key holds the version of
	// the last data change, so a rerun after one is still a no-op.
	flows, err := src.Table.Open(ctx)
	if err != nil {
		return nil, err
	}
	dataVersion, err := DataVersion(ctx, flows, src.Version)
	if err != nil {
		return nil, err
	}
	key := append([]string{src.TableID, strconv.FormatInt(dataVersion, 10), strings.Join(src.Weeks, ",")}, j.RunKey...)
	params := map[string]string{"telcotraffic.source": fmt.Sprintf("flows@%d", src.Version)}
	maps.Copy(params, j.Params)
	p := &WeekPlan{Source: src, Units: PlanUnits(src.Files, WeekOf, j.UnitRows, j.UnitFiles)}
	p.Spec = CommitSpec{Table: j.Out, Mode: ModeReplacePartitions, Partitions: WeekPartitions(src.Weeks),
		AppID: AppID(j.Name+"."+j.Out.Name, append([]string{"v1"}, key...)...), Params: params}
	snap, err := tab.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if v, ok := snap.AppVersion(p.Spec.AppID); ok && v >= TxnVersion {
		p.Done = true
	}
	return p, nil
}

// DataVersion returns the newest version at or below version whose commit
// changed data: commits whose every add and remove has dataChange=false
// (a compaction, lakehouse OPTIMIZE) are stepped over, so that jobs keyed
// by their source's version (PlanWeekJob) see a compacted table as the
// one they already read. A version whose log file is gone (checkpointed
// and cleaned) counts as a data change.
func DataVersion(ctx context.Context, tab *lakehouse.Table, version int64) (int64, error) {
	for v := version; v > 0; v-- {
		key := fmt.Sprintf("_delta_log/%020d.json", v)
		b, err := tab.Store().Get(ctx, key)
		if errors.Is(err, storage.ErrNotExist) {
			return v, nil
		}
		if err != nil {
			return 0, fmt.Errorf("deltaio: %w", err)
		}
		actions, err := lakehouse.DecodeCommit(key, v, b)
		if err != nil {
			return 0, fmt.Errorf("deltaio: %w", err)
		}
		files, change := 0, false
		for _, a := range actions {
			switch {
			case a.Add != nil:
				files++
				change = change || a.Add.DataChange
			case a.Remove != nil:
				files++
				change = change || a.Remove.DataChange
			case a.Metadata != nil || a.Protocol != nil:
				change = true
			}
		}
		if change || files == 0 {
			return v, nil
		}
	}
	return 0, nil
}
