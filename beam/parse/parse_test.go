package parse_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/beam/internal/beamtest"
	"github.com/telcotraffic/telcotraffic/beam/internal/laketest"
	"github.com/telcotraffic/telcotraffic/beam/parse"
	"github.com/telcotraffic/telcotraffic/lakehouse"
)

func TestMain(m *testing.M) { ptest.Main(m) }

const fixtures = "../../testdata/cesnet"

// decodeAll is the reference: every good row and reject of the day files
// under root, decoded directly.
func decodeAll(t *testing.T, root string) ([]cesnet.Flow, []cesnet.Reject) {
	t.Helper()
	files, err := cesnet.FindDayFiles(root, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var flows []cesnet.Flow
	var rejects []cesnet.Reject
	for _, f := range files {
		rel, _ := filepath.Rel(root, f.Path)
		rc, err := cesnet.OpenFile(context.Background(), f.Path, cesnet.XZAuto)
		if err != nil {
			t.Fatal(err)
		}
		_, err = func() (cesnet.FileCounts, error) {
			defer rc.Close()
			d := cesnet.NewDecoder(rc, filepath.ToSlash(rel))
			for {
				var row cesnet.Flow
				err := d.Read(&row)
				var rej *cesnet.Reject
				switch {
				case err == nil:
					flows = append(flows, row)
				case errors.As(err, &rej):
					rejects = append(rejects, *rej)
				case err.Error() == "EOF":
					return cesnet.FileCounts{}, nil
				default:
					return cesnet.FileCounts{}, err
				}
			}
		}()
		if err != nil {
			t.Fatal(err)
		}
	}
	return flows, rejects
}

func sortFlows(fs []cesnet.Flow) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].ID < fs[j].ID })
}

// run plans and runs the parse job and returns the commit results.
func run(t *testing.T, cfg parse.Config) []deltaio.CommitResult {
	t.Helper()
	p, err := parse.NewPlan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return runPlan(t, p)
}

func runPlan(t *testing.T, p *parse.Plan) []deltaio.CommitResult {
	t.Helper()
	pipe, s := beam.NewPipelineWithRoot()
	results, err := parse.Build(s, p)
	if err != nil {
		t.Fatal(err)
	}
	passert.Count(s, results, "commit results", len(p.Specs))
	beamtest.Vet(t, pipe)
	if err := ptest.Run(pipe); err != nil {
		t.Fatal(err)
	}
	var out []deltaio.CommitResult
	ctx := context.Background()
	for _, cs := range p.Specs {
		tab, err := cs.Table.Open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ci, found, err := deltaio.FindCommit(ctx, tab, cs.AppID)
		if err != nil || !found {
			t.Fatalf("commit of %s not found (err %v)", cs.AppID, err)
		}
		out = append(out, deltaio.CommitResult{Table: cs.Table.Name, AppID: cs.AppID, Version: ci.Version, Counters: ci.Counters})
	}
	return out
}

func TestParseFixtures(t *testing.T) {
	lake := t.TempDir()
	res := run(t, parse.Config{Input: fixtures, Lake: lake})
	if len(res) != 2 || res[0].Table != "flows" || res[1].Table != "rejects" {
		t.Fatalf("results %+v", res)
	}
	c := res[0].Counters
	want := map[string]int64{"files_in": 3, "empty_files": 1, "rows_in": 3, "rows_written": 3, "rejects": 0, "bytes_in": c["bytes_in"]}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	wantFlows, _ := decodeAll(t, fixtures)
	got := laketest.Rows[cesnet.Flow](t, lake, "flows")
	sortFlows(got)
	sortFlows(wantFlows)
	if diff := cmp.Diff(wantFlows, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("flows table differs from direct decoding (-want +got):\n%s", diff)
	}
	if n := len(laketest.Rows[cesnet.Reject](t, lake, "rejects")); n != 0 {
		t.Errorf("%d rejects, want 0", n)
	}
	// Partitioned by week and app, one day per file.
	tab, _ := deltaio.TableSpec{Lake: lake, Name: "flows"}.Open(context.Background())
	snap, _ := tab.Snapshot(context.Background())
	if diff := cmp.Diff([]string{"week", "app"}, snap.Metadata.PartitionColumns); diff != "" {
		t.Error(diff)
	}
	for _, a := range snap.Files() {
		lo, hi := deltaio.StatString(a, "day")
		if lo == "" || lo != hi {
			t.Errorf("%s holds days %q..%q, want one", a.Path, lo, hi)
		}
	}
	if snap.NumFiles() != 3 { // (W00, google-www), (W40, google-www), (W40, the-weather-channel)
		t.Errorf("%d files, want 3", snap.NumFiles())
	}
}

// TestFilesPipeline checks the file stage alone with passert: one manifest
// per day file, the empty day included, with its counters.
func TestFilesPipeline(t *testing.T) {
	p, err := parse.NewPlan(context.Background(), parse.Config{Input: fixtures, Lake: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	pipe, s := beam.NewPipelineWithRoot()
	manifests, err := parse.Files(s, p)
	if err != nil {
		t.Fatal(err)
	}
	summary := beam.ParDo(s, manifestSummary, manifests)
	passert.Equals(s, summary,
		"WEEK-2022-00/2022-01-01/flows-20220101.csv rows=1 rejects=0 flows=1",
		"WEEK-2022-40/2022-10-04/flows-20221004.csv rows=2 rejects=0 flows=2",
		"WEEK-2022-52/2022-12-31/flows-20221231.csv rows=0 rejects=0 flows=0")
	beamtest.Vet(t, pipe)
	if err := ptest.Run(pipe); err != nil {
		t.Fatal(err)
	}
}

func manifestSummary(s string) (string, error) {
	m, err := deltaio.DecodeManifest(s)
	if err != nil {
		return "", err
	}
	return m.Unit + " rows=" + itoa(m.Counters["rows_in"]) + " rejects=" + itoa(m.Counters["rejects"]) +
		" flows=" + itoa(int64(len(m.Adds["flows"]))), nil
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func init() {
	register.Function1x2(manifestSummary)
}

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestRejectsTable: a corrupt row becomes a rejects row naming file, line
// and column, and the good rows around it are ingested.
func TestRejectsTable(t *testing.T) {
	root, lake := t.TempDir(), t.TempDir()
	flows := flowgen.Day(day("2022-03-07"), 5, 10, 1)
	lines := strings.Split(string(flowgen.Encode(flows)), "\n")
	lines[3] = strings.Replace(lines[3], ",6,", ",six,", 1) // PROTOCOL of the 3rd row (line 4)
	if _, err := flowgen.WriteDay(root, day("2022-03-07"), "csv", []byte(strings.Join(lines, "\n"))); err != nil {
		t.Fatal(err)
	}
	res := run(t, parse.Config{Input: root, Lake: lake})
	if got := res[0].Counters; got["rows_in"] != 5 || got["rows_written"] != 4 || got["rejects"] != 1 {
		t.Errorf("counters %v", got)
	}
	rej := laketest.Rows[cesnet.Reject](t, lake, "rejects")
	want := []cesnet.Reject{{File: "WEEK-2022-10/2022-03-07/flows-20220307.csv", Line: 4, Column: "PROTOCOL",
		Reason: `"six": invalid syntax`, Raw: lines[3], Day: "2022-03-07", Week: "2022-W10"}}
	if diff := cmp.Diff(want, rej); diff != "" {
		t.Errorf("rejects (-want +got):\n%s", diff)
	}
	if n := len(laketest.Rows[cesnet.Flow](t, lake, "flows")); n != 4 {
		t.Errorf("%d flows, want 4", n)
	}
}

type fileSet map[string]bool

func liveFiles(t *testing.T, lake, table string) (fileSet, int64) {
	t.Helper()
	tab, err := deltaio.TableSpec{Lake: lake, Name: table}.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tab.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := fileSet{}
	for _, a := range snap.Files() {
		out[a.Path] = true
	}
	return out, snap.Version
}

func countByDay(fs []cesnet.Flow) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		out[f.Day]++
	}
	return out
}

// TestIncrementalAndReplace: one more day adds only that day's files;
// re-ingesting a changed day replaces that day only; the same inputs again
// are nothing to do.
func TestIncrementalAndReplace(t *testing.T) {
	root, lake := t.TempDir(), t.TempDir()
	if _, err := flowgen.Week(root, day("2022-03-07"), 3, 40, 8, 1); err != nil {
		t.Fatal(err)
	}
	run(t, parse.Config{Input: root, Lake: lake})
	before, v1 := liveFiles(t, lake, "flows")
	if diff := cmp.Diff(map[string]int{"2022-03-07": 40, "2022-03-08": 40, "2022-03-09": 40}, countByDay(laketest.Rows[cesnet.Flow](t, lake, "flows"))); diff != "" {
		t.Fatal(diff)
	}

	// One more day.
	if _, err := flowgen.Week(root, day("2022-03-10"), 1, 40, 8, 1); err != nil {
		t.Fatal(err)
	}
	run(t, parse.Config{Input: root, Lake: lake, From: day("2022-03-10"), To: day("2022-03-10")})
	after, v2 := liveFiles(t, lake, "flows")
	if v2 != v1+1 {
		t.Errorf("version %d after %d, want one commit", v2, v1)
	}
	for f := range before {
		if !after[f] {
			t.Errorf("file %s of an earlier day was removed", f)
		}
	}
	if diff := cmp.Diff(map[string]int{"2022-03-07": 40, "2022-03-08": 40, "2022-03-09": 40, "2022-03-10": 40}, countByDay(laketest.Rows[cesnet.Flow](t, lake, "flows"))); diff != "" {
		t.Fatal(diff)
	}

	// Re-ingest 2022-03-08 with different content (25 flows, another seed).
	newDay := flowgen.Day(day("2022-03-08"), 25, 8, 99)
	if _, err := flowgen.WriteDay(root, day("2022-03-08"), "csv.gz", flowgen.Encode(newDay)); err != nil {
		t.Fatal(err)
	}
	run(t, parse.Config{Input: root, Lake: lake})
	got := laketest.Rows[cesnet.Flow](t, lake, "flows")
	if diff := cmp.Diff(map[string]int{"2022-03-07": 40, "2022-03-08": 25, "2022-03-09": 40, "2022-03-10": 40}, countByDay(got)); diff != "" {
		t.Fatal(diff)
	}

	// The same inputs again: nothing to do.
	if _, err := parse.NewPlan(context.Background(), parse.Config{Input: root, Lake: lake}); !errors.Is(err, parse.ErrNothingToDo) {
		t.Errorf("second identical run: err %v, want ErrNothingToDo", err)
	}
}

// TestReplaceOneDayKeepsOthers re-ingests one day by range and checks
// that the files of the other days are untouched.
func TestReplaceOneDayKeepsOthers(t *testing.T) {
	root, lake := t.TempDir(), t.TempDir()
	if _, err := flowgen.Week(root, day("2022-03-07"), 3, 30, 6, 1); err != nil {
		t.Fatal(err)
	}
	run(t, parse.Config{Input: root, Lake: lake})
	before, _ := liveFiles(t, lake, "flows")
	dayFiles := map[string]string{}
	tab, _ := deltaio.TableSpec{Lake: lake, Name: "flows"}.Open(context.Background())
	snap, _ := tab.Snapshot(context.Background())
	for _, a := range snap.Files() {
		lo, _ := deltaio.StatString(a, "day")
		dayFiles[a.Path] = lo
	}
	newDay := flowgen.Day(day("2022-03-08"), 11, 6, 7)
	if _, err := flowgen.WriteDay(root, day("2022-03-08"), "csv.gz", flowgen.Encode(newDay)); err != nil {
		t.Fatal(err)
	}
	run(t, parse.Config{Input: root, Lake: lake, From: day("2022-03-08"), To: day("2022-03-08")})
	after, _ := liveFiles(t, lake, "flows")
	for f := range before {
		if dayFiles[f] != "2022-03-08" && !after[f] {
			t.Errorf("file %s of day %s was touched", f, dayFiles[f])
		}
		if dayFiles[f] == "2022-03-08" && after[f] {
			t.Errorf("file %s of the replaced day is still live", f)
		}
	}
	got := laketest.Rows[cesnet.Flow](t, lake, "flows")
	if diff := cmp.Diff(map[string]int{"2022-03-07": 30, "2022-03-08": 11, "2022-03-09": 30}, countByDay(got)); diff != "" {
		t.Fatal(diff)
	}
	var gotDay []cesnet.Flow
	for _, f := range got {
		if f.Day == "2022-03-08" {
			gotDay = append(gotDay, f)
		}
	}
	wantDay, _ := decodeAll(t, root)
	wantDay = slices.DeleteFunc(wantDay, func(f cesnet.Flow) bool { return f.Day != "2022-03-08" })
	sortFlows(gotDay)
	sortFlows(wantDay)
	if diff := cmp.Diff(wantDay, gotDay, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("replaced day (-want +got):\n%s", diff)
	}
}

// TestRetriedRun: an attempt that wrote data files but never committed,
// then a full run, then the same run again (an Airflow retry after a
// successful commit that was not acknowledged) leave the table as one run.
func TestRetriedRun(t *testing.T) {
	root := t.TempDir()
	if _, err := flowgen.Week(root, day("2022-03-07"), 2, 30, 6, 1); err != nil {
		t.Fatal(err)
	}
	oneRun := t.TempDir()
	run(t, parse.Config{Input: root, Lake: oneRun})
	want := laketest.Rows[cesnet.Flow](t, oneRun, "flows")
	sortFlows(want)

	lake := t.TempDir()
	p, err := parse.NewPlan(context.Background(), parse.Config{Input: root, Lake: lake})
	if err != nil {
		t.Fatal(err)
	}
	// Attempt 1: data files only (the job died before its commit).
	pipe, s := beam.NewPipelineWithRoot()
	if _, err := parse.Files(s, p); err != nil {
		t.Fatal(err)
	}
	if err := ptest.Run(pipe); err != nil {
		t.Fatal(err)
	}
	// Attempt 2: the whole job.
	runPlan(t, p)
	_, v := liveFiles(t, lake, "flows")
	// Attempt 3: the same plan again, commit step included: skipped.
	runPlan(t, p)
	_, v3 := liveFiles(t, lake, "flows")
	if v3 != v {
		t.Errorf("re-run moved flows from version %d to %d", v, v3)
	}
	got := laketest.Rows[cesnet.Flow](t, lake, "flows")
	sortFlows(got)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("retried run differs from one run (-want +got):\n%s", diff)
	}
	if v != 1 {
		t.Errorf("flows at version %d after one create and one commit, want 1", v)
	}
}

// TestReplaceDayInCompactedFile: after compaction a file holds several
// days; re-ingesting one day rewrites it without that day's rows.
func TestReplaceDayInCompactedFile(t *testing.T) {
	root, lake := t.TempDir(), t.TempDir()
	if _, err := flowgen.Week(root, day("2022-03-07"), 3, 30, 2, 1); err != nil {
		t.Fatal(err)
	}
	run(t, parse.Config{Input: root, Lake: lake})
	ctx := context.Background()
	tab, err := deltaio.TableSpec{Lake: lake, Name: "flows"}.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := lakehouse.Optimize[cesnet.Flow](ctx, tab)
	if err != nil {
		t.Fatal(err)
	}
	if opt.FilesRemoved == 0 {
		t.Fatal("nothing compacted")
	}
	newDay := flowgen.Day(day("2022-03-08"), 5, 2, 3)
	if _, err := flowgen.WriteDay(root, day("2022-03-08"), "csv.gz", flowgen.Encode(newDay)); err != nil {
		t.Fatal(err)
	}
	run(t, parse.Config{Input: root, Lake: lake, From: day("2022-03-08"), To: day("2022-03-08")})
	if diff := cmp.Diff(map[string]int{"2022-03-07": 30, "2022-03-08": 5, "2022-03-09": 30}, countByDay(laketest.Rows[cesnet.Flow](t, lake, "flows"))); diff != "" {
		t.Fatal(diff)
	}
}

func TestGlobInput(t *testing.T) {
	lake := t.TempDir()
	res := run(t, parse.Config{Input: fixtures + "/WEEK-2022-40/*/flows-*.csv", Lake: lake})
	if got := res[0].Counters["rows_in"]; got != 2 {
		t.Errorf("rows_in %d, want 2", got)
	}
	rows := laketest.Rows[cesnet.Flow](t, lake, "flows")
	if len(rows) != 2 || rows[0].Week != "2022-W40" {
		t.Errorf("rows %d (week %q)", len(rows), rows[0].Week)
	}
}

func TestNoInputs(t *testing.T) {
	_, err := parse.NewPlan(context.Background(), parse.Config{Input: t.TempDir(), Lake: t.TempDir()})
	if !errors.Is(err, parse.ErrNothingToDo) {
		t.Errorf("err %v, want ErrNothingToDo", err)
	}
	if _, err := os.Stat(filepath.Join(fixtures, "WEEK-2022-00")); err != nil {
		t.Fatal(err)
	}
}

func TestInputName(t *testing.T) {
	for _, tc := range []struct{ root, key, want string }{
		{"/data/cesnet", "WEEK-2022-10/2022-03-07/flows-20220307.csv.xz", "WEEK-2022-10/2022-03-07/flows-20220307.csv.xz"},
		{"/data/cesnet/WEEK-2022-10", "2022-03-07/flows-20220307.csv.xz", "WEEK-2022-10/2022-03-07/flows-20220307.csv.xz"},
		{"s3://b/raw/WEEK-2022-11", "2022-03-14/flows-20220314.csv.gz", "WEEK-2022-11/2022-03-14/flows-20220314.csv.gz"},
		{"/tmp/x", "flows-20220307.csv", "flows-20220307.csv"},
	} {
		if got := (parse.Input{Root: tc.root, Key: tc.key}).Name(); got != tc.want {
			t.Errorf("Name(%s, %s) = %s, want %s", tc.root, tc.key, got, tc.want)
		}
	}
}
