package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"

	// The runners this binary can use (not beamx's full set: binary size).
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"

	"github.com/telcotraffic/telcotraffic/beam/aggregate"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/features"
	"github.com/telcotraffic/telcotraffic/beam/parse"
	"github.com/telcotraffic/telcotraffic/beam/pipelineresult"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

var errNothingToDo = taskio.ErrNothingToDo

type config struct {
	Job          string
	Input        string
	Lake         string
	From, To     string
	FlowsVersion int64
	PartitionBy  string
	RunID        string
	SNIBuckets   int
	JA3Buckets   int
	FileRows     int
	BufferRows   int
	TargetSize   int64
	Compression  string
	XZ           string
	XCom         string // result file for Airflow, or "" (taskio)
	// Retention and ShortRetention configure --job=vacuum.
	Retention      time.Duration
	ShortRetention bool
	// Week is the week --job=compact compacts; CompactClosed makes
	// --job=all compact the weeks its days close.
	Week          string
	CompactClosed bool
	// Runner is Beam's --runner (main reads it; "": prism). The job
	// server's --endpoint and the workers' --environment_type stay Beam's
	// own flags, which its runners read.
	Runner string
}

func registerFlags(fs *flag.FlagSet) *config {
	c := &config{}
	fs.StringVar(&c.Job, "job", "all", "job to run: parse, aggregate, features or all (in that order), or vacuum, or compact")
	fs.StringVar(&c.Week, "week", "", "compact: the closed week YYYY-Www whose flows and flow_features files to compact")
	fs.BoolVar(&c.CompactClosed, "compact_closed_weeks", true, "all: after features, compact (and vacuum, --retention) every week whose last day (Sunday, or 31 December) was ingested")
	fs.DurationVar(&c.Retention, "retention", 7*24*time.Hour, "vacuum: delete files no commit references that are older than this")
	fs.BoolVar(&c.ShortRetention, "allow_short_retention", false, "vacuum: allow --retention under "+minRetention.String()+" (files of runs in flight may be deleted)")
	fs.StringVar(&c.Input, "input", "", "raw dataset root or glob of day files, local or s3://bucket/prefix (parse)")
	fs.StringVar(&c.Lake, "lake", "", "lake root URI: local path or s3://bucket/prefix (required)")
	fs.StringVar(&c.From, "from", "", "first day YYYY-MM-DD (parse: days to ingest; aggregate/features: weeks to recompute)")
	fs.StringVar(&c.To, "to", "", "last day YYYY-MM-DD")
	fs.Int64Var(&c.FlowsVersion, "flows_version", -1, "flows version read by aggregate/features run alone (-1: latest)")
	fs.StringVar(&c.PartitionBy, "partition_by", "week,app", "flows partition columns when the table is created")
	fs.StringVar(&c.RunID, "run_id", "", "parse run id for the txn (default: derived from the inputs' names, sizes and times)")
	fs.IntVar(&c.SNIBuckets, "sni_buckets", 4096, "features: SNI hash buckets")
	fs.IntVar(&c.JA3Buckets, "ja3_buckets", 1024, "features: JA3 hash buckets")
	fs.IntVar(&c.FileRows, "file_rows", deltaio.DefaultFileRows, "rows per data file at most")
	fs.IntVar(&c.BufferRows, "buffer_rows", deltaio.DefaultMaxRows, "rows buffered per worker thread at most (memory bound)")
	fs.Int64Var(&c.TargetSize, "target_file_size", 0, "data file target size in bytes (0: lakehouse default)")
	fs.StringVar(&c.Compression, "compression", "", "data file compression: zstd or snappy (default: snappy for parse's flows, zstd for the others)")
	fs.StringVar(&c.XZ, "xz", "auto", "xz decoder: auto (xz program if on PATH), go or exec")
	return c
}

// jobResult is one job's part of the result.
type jobResult = pipelineresult.Job

func parseDay(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse(cesnet.DayLayout, s)
	if err != nil {
		return d, fmt.Errorf("bad day %q (want YYYY-MM-DD)", s)
	}
	return d, nil
}

// run runs the jobs and writes the result (pipelineresult.Result) as the
// last stdout line when they succeed or had nothing to do; a failure
// returns the result, holding the error and, when one day file is to
// blame, that file, in a taskio.ResultError for taskio.Finish to write.
func run(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	start := time.Now()
	out := &pipelineresult.Result{Job: cfg.Job, Lake: cfg.Lake}
	err := runJobs(ctx, cfg, out, stderr)
	out.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(stderr, "pipeline: done in %.1f s\n", out.Seconds)
	if err != nil && !errors.Is(err, errNothingToDo) {
		out.Error = err.Error()
		out.File = blamedFile(out, err)
		return &taskio.ResultError{Err: err, Result: out}
	}
	if werr := taskio.WriteResult(stdout, cfg.XCom, out); werr != nil {
		return errors.Join(err, werr)
	}
	return err
}

// dayFileRE finds a day file's path in an error message (errors from the
// workers reach the driver as text).
var dayFileRE = regexp.MustCompile(`(?:WEEK-\d{4}-\d{2}/)?(?:\d{4}-\d{2}-\d{2}/)?flows-\d{8}\.csv(?:\.xz|\.gz)?`)

// blamedFile names the day file a failure is about: the first quarantined
// one, else one named in the error.
func blamedFile(out *pipelineresult.Result, err error) string {
	if len(out.Quarantined) > 0 {
		return out.Quarantined[0].File
	}
	return dayFileRE.FindString(err.Error())
}

// runJobs runs the jobs, filling out with the result's keys.
func runJobs(ctx context.Context, cfg *config, out *pipelineresult.Result, stderr io.Writer) error {
	if cfg.Lake == "" {
		return errors.New("--lake is required")
	}
	from, err := parseDay(cfg.From)
	if err != nil {
		return err
	}
	to, err := parseDay(cfg.To)
	if err != nil {
		return err
	}
	var jobs []string
	switch cfg.Job {
	case "all":
		jobs = []string{"parse", "aggregate", "features"}
	case "parse", "aggregate", "features":
		jobs = []string{cfg.Job}
	case "vacuum":
		return runVacuum(ctx, cfg, out, stderr)
	case "compact":
		return runCompact(ctx, cfg, out, stderr)
	default:
		return fmt.Errorf("--job %q: want parse, aggregate, features, all, vacuum or compact", cfg.Job)
	}
	if jobs[0] == "parse" && cfg.Input == "" {
		return errors.New("--input is required for parse")
	}
	runner, err := setupRunner(cfg)
	if err != nil {
		return err
	}
	xz := map[string]cesnet.XZMode{"auto": cesnet.XZAuto, "go": cesnet.XZGo, "exec": cesnet.XZExec}
	xzMode, ok := xz[cfg.XZ]
	if !ok {
		return fmt.Errorf("--xz %q: want auto, go or exec", cfg.XZ)
	}

	out.Runner = runner
	var results []jobResult
	var ingested []string // days parse ingested
	quarantined := []parse.DayReport{}
	noInput := ""
	anyRan := false
	flowsVersion := cfg.FlowsVersion
	derivedFrom, derivedTo := from, to
	for _, job := range jobs {
		t0 := time.Now()
		use := startUsage()
		var jr jobResult
		if noInput != "" {
			// Without input in range there is nothing to recompute.
			jr = jobResult{Job: job, Skipped: true, Reason: noInput}
			results = append(results, jr)
			summary(stderr, jr)
			continue
		}
		switch job {
		case "parse":
			var days []string
			var reports []parse.DayReport
			jr, days, reports, err = runParse(ctx, runner, parse.Config{
				Input: cfg.Input, Lake: cfg.Lake, From: from, To: to, PartitionBy: splitList(cfg.PartitionBy),
				RunID: cfg.RunID, FileRows: cfg.FileRows, MaxRows: cfg.BufferRows, XZ: xzMode, TargetFileSize: cfg.TargetSize, Compression: cfg.Compression,
			}, stderr)
			// The next jobs recompute the weeks of the ingested days.
			if from.IsZero() && to.IsZero() && len(days) > 0 {
				derivedFrom, _ = parseDay(days[0])
				derivedTo, _ = parseDay(days[len(days)-1])
			}
			flowsVersion = -1
			if err == nil && !jr.Skipped {
				ingested = days
			}
			if err == nil && jr.Skipped && len(days) == 0 {
				noInput = "no input in range"
			}
			if reports != nil {
				out.Days = reports
				checks := map[string]int{}
				for _, r := range reports {
					checks[r.Check]++
					if len(r.ExtraColumns) > 0 {
						fmt.Fprintf(stderr, "parse: warning: %s: columns %v are not known; ignored\n", r.File, r.ExtraColumns)
					}
					if r.Quarantined != "" {
						quarantined = append(quarantined, r)
						fmt.Fprintf(stderr, "parse: quarantined %s: %s\n", r.File, r.Quarantined)
					}
				}
				out.StatsCheck = checks
				out.Quarantined = quarantined
			}
		case "aggregate":
			jr, err = runAggregate(ctx, runner, aggregate.Config{Lake: cfg.Lake, FlowsVersion: flowsVersion, From: derivedFrom, To: derivedTo, TargetFileSize: cfg.TargetSize, Compression: cfg.Compression}, stderr)
		case "features":
			jr, err = runFeatures(ctx, runner, features.Config{Lake: cfg.Lake, FlowsVersion: flowsVersion, From: derivedFrom, To: derivedTo,
				Features: featuredef.FeatureConfig{SNIBuckets: cfg.SNIBuckets, JA3Buckets: cfg.JA3Buckets},
				FileRows: cfg.FileRows, MaxRows: cfg.BufferRows, TargetFileSize: cfg.TargetSize, Compression: cfg.Compression}, stderr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", job, err)
		}
		jr.Job = job
		jr.Seconds = time.Since(t0).Seconds()
		use.record(&jr)
		if !jr.Skipped {
			anyRan = true
			jr.RowsPerSec = float64(jr.RowsIn) / max(jr.Seconds, 1e-9)
		}
		results = append(results, jr)
		summary(stderr, jr)
	}

	// The ingest path compacts the weeks it closed (once a week is complete
	// its small per-app files are rewritten for the readers).
	if cfg.Job == "all" && cfg.CompactClosed && len(quarantined) == 0 {
		if cfg.Retention < minRetention && !cfg.ShortRetention {
			return fmt.Errorf("--retention %v is under %v: data files of runs in flight could be deleted; add --allow_short_retention to do it anyway", cfg.Retention, minRetention)
		}
		compacted := map[string]map[string]CompactResult{}
		for _, w := range closedWeeks(ingested) {
			t0 := time.Now()
			use := startUsage()
			res, err := compactWeek(ctx, cfg, w, stderr)
			compacted[w] = res
			if err != nil {
				return fmt.Errorf("compact %s: %w", w, err)
			}
			jr := jobResult{Job: "compact " + w, Seconds: time.Since(t0).Seconds(), Commits: map[string]int64{}}
			use.record(&jr)
			for name, r := range res {
				jr.RowsIn += r.RowsWeek
				if r.Version >= 0 {
					jr.Commits[name] = r.Version
				}
			}
			results = append(results, jr)
		}
		if len(compacted) > 0 {
			out.Compact = compacted
		}
	}

	// Table versions and row counts, for every table these jobs write.
	for _, t := range []catalog.Table{catalog.Flows, catalog.Rejects, catalog.TrafficHourly, catalog.FlowFeatures} {
		st, err := deltaio.Stats(ctx, deltaio.TableSpec{Lake: cfg.Lake, Name: t.Name})
		if err != nil {
			continue // not created (yet)
		}
		if !out.SetTable(t.Name, pipelineresult.Table{Version: st.Version, Rows: st.Rows, Files: int64(st.Files)}) {
			return fmt.Errorf("pipelineresult.Result has no fields for table %s", t.Name)
		}
	}
	for _, jr := range results {
		if jr.Job == "parse" {
			out.RowsIn, out.RowsIngested, out.Rejects = &jr.RowsIn, &jr.RowsWritten, &jr.Rejects
		}
	}
	out.Jobs = results
	if len(quarantined) > 0 {
		var names []string
		for _, r := range quarantined {
			names = append(names, r.File+" ("+r.Quarantined+")")
		}
		return fmt.Errorf("parse: %d day file(s) quarantined, the other days were ingested: %s", len(quarantined), strings.Join(names, "; "))
	}
	if !anyRan {
		if noInput != "" {
			return fmt.Errorf("%w: %s", errNothingToDo, results[0].Reason)
		}
		return fmt.Errorf("%w: every table already holds these runs", errNothingToDo)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// setupRunner picks the runner and checks what a portable runner needs.
// It reads Beam's own --endpoint flag and writes none of Beam's options.
func setupRunner(cfg *config) (string, error) {
	runner := cfg.Runner
	if runner == "" {
		runner = "prism"
	}
	switch runner {
	case "prism":
	case "universal", "portable", "flink":
		if *jobopts.Endpoint == "" {
			return "", fmt.Errorf("--runner=%s needs --endpoint=host:port of a job server (Flink's or a standalone prism)", runner)
		}
	default:
		return "", fmt.Errorf("--runner %q: want prism, universal or flink", runner)
	}
	return runner, nil
}

// loopbackByDefault makes LOOPBACK (the workers run in this process) the
// default of Beam's --environment_type, whose own default, DOCKER, needs
// docker on every task manager. Beam's runners read their options only
// from the flag package (options/jobopts: package variables bound to the
// command line, which the runners and prism itself read and set); the
// flag set is therefore the one place to give an option another default,
// before the command line is parsed, which still overrides it.
func loopbackByDefault(fs *flag.FlagSet) error {
	f := fs.Lookup("environment_type")
	if f == nil {
		return errors.New("beam's --environment_type flag is not registered")
	}
	f.DefValue = "LOOPBACK"
	return f.Value.Set(f.DefValue)
}

func execute(ctx context.Context, runner string, p *beam.Pipeline) error {
	_, err := beam.Run(ctx, runner, p)
	return err
}

func summary(w io.Writer, jr jobResult) {
	if jr.Skipped {
		fmt.Fprintf(w, "%s: skipped (%s) in %.1f s\n", jr.Job, jr.Reason, jr.Seconds)
		return
	}
	var commits []string
	for t, v := range jr.Commits {
		commits = append(commits, fmt.Sprintf("%s v%d", t, v))
	}
	fmt.Fprintf(w, "%s: %d rows in, %d rows written, %d rejects, %.1f s, %.0f rows/s, %.1f CPU-s, peak %.0f MB; %s\n",
		jr.Job, jr.RowsIn, jr.RowsWritten, jr.Rejects, jr.Seconds, jr.RowsPerSec, jr.CPUSeconds, jr.PeakMB, strings.Join(commits, ", "))
}

// commitInfo reads back the commit of a run (its version and counters).
func commitInfo(ctx context.Context, spec deltaio.CommitSpec) (deltaio.CommitInfo, error) {
	tab, err := spec.Table.Open(ctx)
	if err != nil {
		return deltaio.CommitInfo{}, err
	}
	ci, found, err := deltaio.FindCommit(ctx, tab, spec.AppID)
	if err != nil {
		return ci, err
	}
	if !found {
		return ci, fmt.Errorf("table %s holds no commit of run %s after the pipeline ended", spec.Table.Name, spec.AppID)
	}
	return ci, nil
}

func runParse(ctx context.Context, runner string, cfg parse.Config, stderr io.Writer) (jobResult, []string, []parse.DayReport, error) {
	jr := jobResult{Commits: map[string]int64{}}
	p, err := parse.NewPlan(ctx, cfg)
	if errors.Is(err, parse.ErrNothingToDo) {
		jr.Skipped, jr.Reason = true, err.Error()
		if p != nil {
			reports, err := parseCommits(ctx, &jr, p.Skipped)
			return jr, p.Days, reports, err
		}
		return jr, nil, nil, nil
	}
	if err != nil {
		return jr, nil, nil, err
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "parse: warning:", w)
	}
	var size int64
	for _, in := range p.Inputs {
		size += in.Size
	}
	fmt.Fprintf(stderr, "parse: %d day files (%s..%s, %.1f MB) from %s into %s\n", len(p.Inputs), p.Days[0], p.Days[len(p.Days)-1], float64(size)/1e6, cfg.Input, cfg.Lake)
	pipe, s := beam.NewPipelineWithRoot()
	if _, err := parse.Build(s, p); err != nil {
		return jr, nil, nil, err
	}
	if err := execute(ctx, runner, pipe); err != nil {
		return jr, nil, nil, err
	}
	reports, err := parseCommits(ctx, &jr, append(p.Specs, p.Skipped...))
	return jr, p.Days, reports, err
}

// parseCommits records the table versions of the parse commits, the row
// counters of the flows commit and its day reports.
func parseCommits(ctx context.Context, jr *jobResult, specs []deltaio.CommitSpec) ([]parse.DayReport, error) {
	var reports []parse.DayReport
	for _, cs := range specs {
		ci, err := commitInfo(ctx, cs)
		if err != nil {
			return nil, err
		}
		jr.Commits[cs.Table.Name] = ci.Version
		if cs.Table.Name == parse.FlowsTable {
			jr.RowsIn, jr.RowsWritten, jr.Rejects = ci.Counters[parse.CounterRows], ci.Counters[parse.CounterRowsWritten], ci.Counters[parse.CounterRejects]
			if reports, err = parse.ReadReports(ci.Params); err != nil {
				return nil, err
			}
		}
	}
	return reports, nil
}

func runAggregate(ctx context.Context, runner string, cfg aggregate.Config, stderr io.Writer) (jobResult, error) {
	p, err := aggregate.NewPlan(ctx, cfg)
	if err != nil {
		return jobResult{Commits: map[string]int64{}}, err
	}
	return runWeekJob(ctx, runner, stderr, weekJob{name: "aggregate", table: aggregate.Table, skipped: "already aggregated from ",
		plan: p, build: func(s beam.Scope) error { _, err := aggregate.Build(s, p); return err }})
}

func runFeatures(ctx context.Context, runner string, cfg features.Config, stderr io.Writer) (jobResult, error) {
	p, err := features.NewPlan(ctx, cfg)
	if err != nil {
		return jobResult{Commits: map[string]int64{}}, err
	}
	return runWeekJob(ctx, runner, stderr, weekJob{name: "features", table: features.Table, skipped: "already computed from ",
		plan: &p.WeekPlan, build: func(s beam.Scope) error { _, err := features.Build(s, p); return err }})
}

// weekJob is a planned job that recomputes whole weeks from the flows table
// (aggregate, features).
type weekJob struct {
	name, table, skipped string
	plan                 *deltaio.WeekPlan
	build                func(beam.Scope) error
}

// runWeekJob runs a weekJob's pipeline unless its plan is already
// committed, and reads the counters of the table's commit.
func runWeekJob(ctx context.Context, runner string, stderr io.Writer, j weekJob) (jobResult, error) {
	jr := jobResult{Commits: map[string]int64{}}
	src := j.plan.Source
	jr.Source = fmt.Sprintf("flows@%d", src.Version)
	if !j.plan.Done {
		fmt.Fprintf(stderr, "%s: flows@%d, weeks %s, %d files in %d units\n", j.name, src.Version, strings.Join(src.Weeks, " "), len(src.Files), len(j.plan.Units))
		pipe, s := beam.NewPipelineWithRoot()
		if err := j.build(s); err != nil {
			return jr, err
		}
		if err := execute(ctx, runner, pipe); err != nil {
			return jr, err
		}
	} else {
		jr.Skipped, jr.Reason = true, j.skipped+jr.Source
	}
	ci, err := commitInfo(ctx, j.plan.Spec)
	if err != nil {
		return jr, err
	}
	jr.Commits[j.table] = ci.Version
	jr.RowsIn, jr.RowsWritten = ci.Counters["rows_in"], ci.Counters["rows_written"]
	return jr, nil
}

// minRetention is the shortest vacuum retention allowed without
// --allow_short_retention: a parse run writes its data files before it
// commits them, and a shorter retention could delete them in flight.
const minRetention = time.Hour

// lakeTables are the tables the pipeline writes, vacuumed by --job=vacuum.
var lakeTables = []string{parse.FlowsTable, parse.RejectsTable, aggregate.Table, features.Table}

// runVacuum deletes, in every table of the lake, the data files that the
// latest version does not reference (removed by a later commit, or written
// by a run that died before committing) and that are older than the
// retention. Nothing deleted is nothing to do.
func runVacuum(ctx context.Context, cfg *config, out *pipelineresult.Result, stderr io.Writer) error {
	if cfg.Retention < minRetention && !cfg.ShortRetention {
		return fmt.Errorf("--retention %v is under %v: data files of runs in flight could be deleted; add --allow_short_retention to do it anyway", cfg.Retention, minRetention)
	}
	deleted := map[string]int{}
	total := 0
	for _, name := range lakeTables {
		spec := deltaio.TableSpec{Lake: cfg.Lake, Name: name}
		tab, err := spec.Open(ctx)
		if errors.Is(err, lakehouse.ErrNotTable) {
			continue
		}
		if err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
		keys, err := tab.Vacuum(ctx, cfg.Retention, false)
		if err != nil {
			return fmt.Errorf("vacuum: %s: %w", name, err)
		}
		deleted[name] = len(keys)
		total += len(keys)
		fmt.Fprintf(stderr, "vacuum: %s: %d files deleted (unreferenced, older than %v)\n", name, len(keys), cfg.Retention)
	}
	out.VacuumRetention = cfg.Retention.String()
	out.VacuumDeleted = deleted
	if total == 0 {
		return fmt.Errorf("%w: no unreferenced files older than %v", errNothingToDo, cfg.Retention)
	}
	return nil
}
