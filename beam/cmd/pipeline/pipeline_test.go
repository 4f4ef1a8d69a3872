package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/beam/aggregate"
	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/beam/internal/laketest"
	"github.com/telcotraffic/telcotraffic/beam/pipelineresult"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init()
	os.Exit(m.Run())
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func python(t *testing.T) string {
	t.Helper()
	return testenv.Python(t)
}

func defaults() *config {
	c := registerFlags(flag.NewFlagSet("test", flag.ContinueOnError))
	c.Runner = "prism"
	return c
}

// runCLI runs the binary's run() and returns the JSON result line.
func runCLI(t *testing.T, c *config) (map[string]any, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), c, &stdout, &stderr)
	taskio.Finish("pipeline", err, &stdout, &stderr, "") // a failure's result, as main writes it
	t.Logf("stderr:\n%s", summaryLines(stderr.String()))
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res map[string]any
	if last := lines[len(lines)-1]; last != "" {
		if jerr := json.Unmarshal([]byte(last), &res); jerr != nil {
			t.Fatalf("last stdout line is not JSON: %q: %v", last, jerr)
		}
	}
	return res, err
}

// summaryLines keeps the pipeline's own lines (not the runner's log).
func summaryLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "time=") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// typedResult reads a result line back as the exported pipelineresult.Result.
func typedResult(t *testing.T, res map[string]any) pipelineresult.Result {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var r pipelineresult.Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func num(t *testing.T, res map[string]any, key string) int64 {
	t.Helper()
	v, ok := res[key].(float64)
	if !ok {
		t.Fatalf("result has no number %q: %v", key, res)
	}
	return int64(v)
}

// generate builds and runs the project's generator (tasks/generate) and
// returns its JSON result.
func generate(t *testing.T, out string, args ...string) map[string]any {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "generate")
	build := exec.Command("go", "build", "-o", bin, "./tasks/generate")
	build.Dir = moduleRoot(t)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build tasks/generate: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, append([]string{"--out", out}, args...)...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("generate: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("generate result: %v", err)
	}
	return res
}

type tableSummary struct {
	Version   int64            `json:"version"`
	Rows      int64            `json:"rows"`
	Files     int              `json:"files"`
	PartCols  []string         `json:"partition_columns"`
	ByDay     map[string]int64 `json:"by_day"`
	Bytes     int64            `json:"bytes"`
	Flows     int64            `json:"flows"`
	Weeks     []string         `json:"weeks"`
	PPIPadded int64            `json:"ppi_120"`
	RawMax    int              `json:"raw_max"`
	Columns   []string         `json:"columns"`
}

// deltaRS reads the lake's tables back with delta-rs.
func deltaRS(t *testing.T, lake string) map[string]tableSummary {
	t.Helper()
	cmd := exec.Command(python(t), "testdata/delta_summary.py", lake, "flows", "rejects", "traffic_hourly", "flow_features")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("delta-rs: %v\n%s", err, stderr.String())
	}
	var res map[string]tableSummary
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("delta-rs output %q: %v", out, err)
	}
	return res
}

// dayTotals reads the stats-YYYYMMDD.json files of a generated dataset.
func dayTotals(t *testing.T, root string) map[string]int64 {
	t.Helper()
	files, err := cesnet.FindDayFiles(root, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, f := range files {
		fh, err := os.Open(f.StatsPath)
		if err != nil {
			t.Fatal(err)
		}
		st, err := cesnet.ReadStats(fh, f.StatsPath)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Day.Format(cesnet.DayLayout)] = st.Global.TotalSaved
	}
	return out
}

// TestEndToEndWeek: a generated week (gz) → parse → aggregate → features
// on prism into a local lake, then the compaction of the week its Sunday
// closes (flows and flow_features at version 2, the OPTIMIZE commit);
// delta-rs reads every table back with the expected counts; the same
// command again is nothing to do (exit 99) and changes nothing.
func TestEndToEndWeek(t *testing.T) {
	python(t) // fail early without delta-rs
	raw, lake := t.TempDir(), t.TempDir()
	gen := generate(t, raw, "--start", "2022-03-07", "--days", "7", "--flows-per-day", "3000", "--seed", "1", "--compress", "gz")
	generated := int64(gen["rows"].(float64))
	perDay := dayTotals(t, raw)

	c := defaults()
	c.Input, c.Lake = raw, lake
	res, err := runCLI(t, c)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{"rows_in": generated, "rows_ingested": generated, "rejects": 0,
		"flows_rows": generated, "flow_features_rows": generated, "flows_version": 2, "traffic_hourly_version": 1, "flow_features_version": 2} {
		if got := num(t, res, key); got != want {
			t.Errorf("result %s = %d, want %d", key, got, want)
		}
	}
	// The exported type reads the same line: every table the jobs wrote
	// (flows and flow_features once more: the closed week's compaction).
	typed := typedResult(t, res)
	for _, tab := range []catalog.Table{catalog.Flows, catalog.Rejects, catalog.TrafficHourly, catalog.FlowFeatures} {
		want := int64(1)
		if tab.Name == catalog.Flows.Name || tab.Name == catalog.FlowFeatures.Name {
			want = 2
		}
		if st, ok := typed.Table(tab.Name); !ok || st.Version != want {
			t.Errorf("pipelineresult.Result.Table(%s) = %+v, %v; want version %d", tab.Name, st, ok, want)
		}
	}
	if wk := typed.Compact["2022-W10"]; wk["flows"].Version != 2 || wk["flow_features"].Version != 2 {
		t.Errorf("typed result compact = %+v; want 2022-W10 compacted in flows and flow_features (v2)", typed.Compact)
	}
	if len(typed.Days) != 7 || typed.StatsCheck[pipelineresult.CheckOK] != 7 || *typed.RowsIngested != generated {
		t.Errorf("typed result: %d days, stats checks %v, rows_ingested %d", len(typed.Days), typed.StatsCheck, *typed.RowsIngested)
	}
	// Every job states its CPU seconds and peak memory (the ingest bench's
	// per-stage figures).
	for _, j := range typed.Jobs {
		if j.CPUSeconds <= 0 || j.PeakMB <= 0 {
			t.Errorf("job %s: cpu_s %v, peak_mb %v; want both positive", j.Job, j.CPUSeconds, j.PeakMB)
		}
	}

	got := deltaRS(t, lake)
	flows := got["flows"]
	if flows.Rows != generated || flows.Version != 2 {
		t.Errorf("delta-rs: flows v%d with %d rows, want v2 (compacted) with %d", flows.Version, flows.Rows, generated)
	}
	if diff := cmp.Diff(perDay, flows.ByDay); diff != "" {
		t.Errorf("delta-rs: flows per day differ from the stats files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"week", "app"}, flows.PartCols); diff != "" {
		t.Error(diff)
	}
	th := got["traffic_hourly"]
	if th.Flows != generated || th.Bytes != flows.Bytes || th.Rows == 0 || th.Rows != num(t, res, "traffic_hourly_rows") {
		t.Errorf("delta-rs: traffic_hourly sums flows=%d bytes=%d rows=%d; want flows=%d bytes=%d", th.Flows, th.Bytes, th.Rows, generated, flows.Bytes)
	}
	ff := got["flow_features"]
	if ff.Rows != generated || ff.PPIPadded != generated {
		t.Errorf("delta-rs: flow_features %d rows, %d with 120 ppi values; want %d", ff.Rows, ff.PPIPadded, generated)
	}
	if rj := got["rejects"]; rj.Rows != 0 || rj.Version != 1 {
		t.Errorf("delta-rs: rejects v%d with %d rows", rj.Version, rj.Rows)
	}

	// The same command again (an Airflow retry): nothing to do, nothing changes.
	res2, err := runCLI(t, c)
	if !errors.Is(err, errNothingToDo) {
		t.Fatalf("second run: err %v, want nothing to do", err)
	}
	for _, key := range []string{"flows_version", "rejects_version", "traffic_hourly_version", "flow_features_version", "rows_ingested", "flows_rows"} {
		if num(t, res2, key) != num(t, res, key) {
			t.Errorf("second run: %s %v, first %v", key, res2[key], res[key])
		}
	}
}

// TestIncrementalDay: one more day adds only that day's flows files and
// recomputes only its week in the derived tables.
func TestIncrementalDay(t *testing.T) {
	raw, lake := t.TempDir(), t.TempDir()
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	if _, err := flowgen.Week(raw, day("2022-03-11"), 3, 50, 8, 1); err != nil { // Fri..Sun, W10
		t.Fatal(err)
	}
	c := defaults()
	c.Input, c.Lake = raw, lake
	if _, err := runCLI(t, c); err != nil {
		t.Fatal(err)
	}
	before := liveFiles(t, lake, "flows")
	beforeTH := liveFiles(t, lake, aggregate.Table)
	if _, err := flowgen.Week(raw, day("2022-03-14"), 1, 50, 8, 1); err != nil { // Monday, W11
		t.Fatal(err)
	}
	c.From, c.To = "2022-03-14", "2022-03-14"
	res, err := runCLI(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if num(t, res, "rows_ingested") != 50 || num(t, res, "flows_rows") != 200 {
		t.Errorf("rows_ingested %v, flows_rows %v; want 50, 200", res["rows_ingested"], res["flows_rows"])
	}
	after := liveFiles(t, lake, "flows")
	for f := range before {
		if _, ok := after[f]; !ok {
			t.Errorf("flows file %s of an earlier day removed", f)
		}
	}
	for f, d := range after {
		if _, old := before[f]; !old && d != "2022-03-14" {
			t.Errorf("new flows file %s holds %s", f, d)
		}
	}
	afterTH := liveFiles(t, lake, aggregate.Table)
	for f := range beforeTH {
		if _, ok := afterTH[f]; !ok {
			t.Errorf("traffic_hourly file %s of week 10 was replaced", f)
		}
	}
	if len(afterTH) != len(beforeTH)+1 {
		t.Errorf("traffic_hourly has %d files, want %d (one more week)", len(afterTH), len(beforeTH)+1)
	}
}

// liveFiles maps a table's live files to their day (or week) statistics.
func liveFiles(t *testing.T, lake, table string) map[string]string {
	t.Helper()
	ctx := context.Background()
	tab, err := deltaio.TableSpec{Lake: lake, Name: table}.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tab.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range snap.Files() {
		d, _ := deltaio.StatString(a, "day")
		if d == "" {
			d = a.PartitionValues["week"]
		}
		out[a.Path] = d
	}
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startPrismJobServer builds Beam's standalone prism job server (the
// pinned SDK version) and starts it on a free port (TestFlinkJobServer
// runs the same jobs on Flink's job server).
func startPrismJobServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "prism")
	build := exec.Command("go", "build", "-o", bin, "github.com/apache/beam/sdks/v2/go/cmd/prism")
	build.Dir = moduleRoot(t)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build prism: %v\n%s", err, b)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(bin, "--job_port", strconv.Itoa(port), "--serve_http=false", "--log_level", "warn")
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("prism-%d.log", attempt)))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatalf("start prism: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if lastErr = waitTCP(addr, exited, 30*time.Second); lastErr == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
				logf.Close()
			})
			return addr
		}
		_ = cmd.Process.Kill()
		logf.Close()
	}
	t.Fatalf("prism job server did not start: %v", lastErr)
	return ""
}

func waitTCP(addr string, exited <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond) // readiness poll interval
	}
	return fmt.Errorf("no answer on %s within %s", addr, timeout)
}

// TestPortableJobServer runs parse and aggregate through the portable
// runner path (--runner=universal --endpoint, LOOPBACK workers), which is
// exactly what --runner=flink does, against a standalone prism job server,
// and checks the tables equal those of the embedded runner.
func TestPortableJobServer(t *testing.T) {
	endpoint := startPrismJobServer(t)
	raw := portableFixture(t)
	prismLake := runParseAggregate(t, raw, "prism", "")
	universalLake := runParseAggregate(t, raw, "universal", endpoint)
	sameTables(t, prismLake, universalLake, "universal")
}

func readFlows(t *testing.T, lake string) []cesnet.Flow {
	t.Helper()
	out := laketest.Rows[cesnet.Flow](t, lake, "flows")
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func readHourly(t *testing.T, lake string) []tablerow.TrafficHourly {
	t.Helper()
	out := laketest.Rows[tablerow.TrafficHourly](t, lake, aggregate.Table)
	aggregate.SortRows(out)
	return out
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*config)
		want string
	}{
		{"no lake", func(c *config) { c.Lake = "" }, "--lake is required"},
		{"bad job", func(c *config) { c.Job = "train" }, `--job "train"`},
		{"bad day", func(c *config) { c.From = "2022-3-7" }, `bad day "2022-3-7"`},
		{"flink without endpoint", func(c *config) { c.Runner = "flink" }, "needs --endpoint"},
		{"no input", func(c *config) { c.Input = "" }, "--input is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer beamFlags(t, "")() // no job server, whatever an earlier run left
			c := defaults()
			c.Input, c.Lake = t.TempDir(), t.TempDir()
			tc.edit(c)
			err := run(context.Background(), c, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestS3InputAndLake: raw files in an S3 bucket (a root and a glob) and
// the lake in the same bucket, credentials from the AWS_* environment as
// in production.
func TestS3InputAndLake(t *testing.T) {
	gw := testenv.StartGateway(t)
	t.Setenv("AWS_ENDPOINT_URL", gw.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", gw.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", gw.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	ctx := context.Background()
	raw, err := deltaio.OpenStorage(ctx, "s3://telco/raw")
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.(interface{ CreateBucket(context.Context) error }).CreateBucket(ctx); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	start, _ := time.Parse(time.DateOnly, "2022-03-13")
	if _, err := flowgen.Week(local, start, 2, 30, 5, 4); err != nil {
		t.Fatal(err)
	}
	files, err := cesnet.FindDayFiles(local, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(local, f.Path)
		if err := raw.Put(ctx, filepath.ToSlash(rel), b); err != nil {
			t.Fatal(err)
		}
	}

	c := defaults()
	c.Input, c.Lake = "s3://telco/raw", "s3://telco/lake"
	res, err := runCLI(t, c)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int64{"rows_ingested": 60, "flows_rows": 60, "flow_features_rows": 60, "flows_version": 1} {
		if got := num(t, res, key); got != want {
			t.Errorf("%s = %d, want %d", key, got, want)
		}
	}
	th, err := deltaio.Stats(ctx, deltaio.TableSpec{Lake: c.Lake, Name: aggregate.Table})
	if err != nil || th.Files != 2 { // weeks 10 and 11
		t.Errorf("traffic_hourly on S3: %+v, %v", th, err)
	}

	// A glob of one day: re-ingests (replaces) that day only.
	c2 := defaults()
	c2.Job, c2.Input, c2.Lake, c2.RunID = "parse", "s3://telco/raw/WEEK-2022-11/*/flows-*.csv.gz", c.Lake, "glob-run"
	res, err = runCLI(t, c2)
	if err != nil {
		t.Fatal(err)
	}
	if num(t, res, "rows_ingested") != 30 || num(t, res, "flows_rows") != 60 || num(t, res, "flows_version") != 2 {
		t.Errorf("glob re-ingest: %v", res)
	}

	// VACUUM on S3: the replaced day's files and an orphan object go, the
	// table keeps its rows.
	flowsStore, err := deltaio.OpenStorage(ctx, "s3://telco/lake/flows")
	if err != nil {
		t.Fatal(err)
	}
	if err := flowsStore.Put(ctx, "week=2022-W11/part-00000-orphan-c000.zstd.parquet", []byte("killed run")); err != nil {
		t.Fatal(err)
	}
	v := defaults()
	v.Job, v.Lake, v.Retention, v.ShortRetention = "vacuum", c.Lake, 0, true
	res, err = runCLI(t, v)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res["vacuum_deleted"].(map[string]any)["flows"].(float64); n < 2 {
		t.Errorf("vacuum on S3 deleted %v", res["vacuum_deleted"])
	}
	if _, err := flowsStore.Stat(ctx, "week=2022-W11/part-00000-orphan-c000.zstd.parquet"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("orphan on S3 after vacuum: %v", err)
	}
	if st, err := deltaio.Stats(ctx, deltaio.TableSpec{Lake: c.Lake, Name: "flows"}); err != nil || st.Rows != 60 {
		t.Errorf("flows after vacuum: %+v, %v", st, err)
	}
}
