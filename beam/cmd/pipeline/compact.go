package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/features"
	"github.com/telcotraffic/telcotraffic/beam/parse"
	"github.com/telcotraffic/telcotraffic/beam/pipelineresult"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

// CompactResult is one table's part of a week's compaction.
type CompactResult = pipelineresult.CompactTable

var weekRE = regexp.MustCompile(`^\d{4}-W\d{2}$`)

// compactTables are the tables a closed week is compacted in: the ones
// read whole by the next jobs and by training (flows, flow_features);
// traffic_hourly already holds one file per week.
func compactTables(cfg *config) []struct {
	spec     deltaio.TableSpec
	optimize func(context.Context, *lakehouse.Table, func(map[string]string) bool) (lakehouse.OptimizeResult, error)
} {
	spec := func(name string) deltaio.TableSpec {
		return deltaio.TableSpec{Lake: cfg.Lake, Name: name, TargetFileSize: cfg.TargetSize, Compression: cfg.Compression}
	}
	return []struct {
		spec     deltaio.TableSpec
		optimize func(context.Context, *lakehouse.Table, func(map[string]string) bool) (lakehouse.OptimizeResult, error)
	}{
		{spec(parse.FlowsTable), lakehouse.OptimizeWhere[cesnet.Flow]},
		{spec(features.Table), lakehouse.OptimizeWhere[tablerow.FlowFeatures]},
	}
}

// runCompact compacts the data files of one closed week (--week) in flows
// and flow_features (lakehouse OPTIMIZE: per partition of the week, the
// files under the target size are rewritten into files of up to
// --target_file_size, 128 MB by default, in one dataChange=false commit),
// then vacuums those tables with --retention. Nothing compacted and
// nothing deleted is nothing to do.
func runCompact(ctx context.Context, cfg *config, out *pipelineresult.Result, stderr io.Writer) error {
	if !weekRE.MatchString(cfg.Week) {
		return fmt.Errorf("--week %q: want YYYY-Www (e.g. 2022-W10)", cfg.Week)
	}
	if cfg.Retention < minRetention && !cfg.ShortRetention {
		return fmt.Errorf("--retention %v is under %v: data files of runs in flight could be deleted; add --allow_short_retention to do it anyway", cfg.Retention, minRetention)
	}
	res, err := compactWeek(ctx, cfg, cfg.Week, stderr)
	out.Compact = map[string]map[string]CompactResult{cfg.Week: res}
	out.VacuumRetention = cfg.Retention.String()
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Version >= 0 || r.Vacuumed > 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: week %s holds no small files to compact and no files to vacuum", errNothingToDo, cfg.Week)
}

// compactWeek compacts and vacuums the week in every compacted table that
// exists.
func compactWeek(ctx context.Context, cfg *config, week string, stderr io.Writer) (map[string]CompactResult, error) {
	res := map[string]CompactResult{}
	inWeek := func(pv map[string]string) bool { return pv["week"] == week }
	for _, ct := range compactTables(cfg) {
		t0 := time.Now()
		tab, err := ct.spec.Open(ctx)
		if errors.Is(err, lakehouse.ErrNotTable) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("compact: %w", err)
		}
		before, rows, err := weekFiles(ctx, tab, inWeek)
		if err != nil {
			return res, fmt.Errorf("compact: %s: %w", ct.spec.Name, err)
		}
		fmt.Fprintf(stderr, "compact: %s week %s: %d files, %d rows\n", ct.spec.Name, week, before, rows)
		opt, err := ct.optimize(ctx, tab, inWeek)
		if err != nil {
			return res, fmt.Errorf("compact: %s: %w", ct.spec.Name, err)
		}
		after, _, err := weekFiles(ctx, tab, inWeek)
		if err != nil {
			return res, fmt.Errorf("compact: %s: %w", ct.spec.Name, err)
		}
		keys, err := tab.Vacuum(ctx, cfg.Retention, false)
		if err != nil {
			return res, fmt.Errorf("compact: vacuum %s: %w", ct.spec.Name, err)
		}
		r := CompactResult{Version: opt.Version, FilesRemoved: opt.FilesRemoved, FilesAdded: opt.FilesAdded,
			FilesBefore: before, FilesAfter: after, RowsWeek: rows, Vacuumed: len(keys), Seconds: time.Since(t0).Seconds(),
			RowsCopied: opt.RowsCopied, RowsRewritten: opt.RowsRewritten}
		res[ct.spec.Name] = r
		fmt.Fprintf(stderr, "compact: %s week %s: %d files -> %d (OPTIMIZE v%d: %d removed, %d added; rows %d copied, %d rewritten); vacuum (older than %v) deleted %d; %.1f s\n",
			ct.spec.Name, week, before, after, opt.Version, opt.FilesRemoved, opt.FilesAdded, opt.RowsCopied, opt.RowsRewritten, cfg.Retention, len(keys), r.Seconds)
	}
	return res, nil
}

// weekFiles counts the week's data files and rows at the latest version.
func weekFiles(ctx context.Context, tab *lakehouse.Table, inWeek func(map[string]string) bool) (files int, rows int64, err error) {
	snap, err := tab.Snapshot(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, a := range snap.Files() {
		if inWeek(a.PartitionValues) {
			files++
			rows += max(deltaio.NumRecords(a), 0)
		}
	}
	return files, rows, nil
}

// closedWeeks returns the weeks that the days close (a week closes with
// its Sunday, or with 31 December for the year's last week), in order.
func closedWeeks(days []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range days {
		day, err := time.Parse(cesnet.DayLayout, d)
		if err != nil {
			continue
		}
		if day.Weekday() != time.Sunday && (day.Month() != time.December || day.Day() != 31) {
			continue
		}
		if w := cesnet.WeekLabel(day); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}
