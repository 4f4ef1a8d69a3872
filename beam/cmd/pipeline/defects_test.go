package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

// The defect days: three generated days (gz, with stats files); each case
// damages one of them.
var defectDays = []string{"2022-03-07", "2022-03-08", "2022-03-09"}

func dayOf(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }

func dayPath(root, day, ext string) string {
	return filepath.Join(root, filepath.FromSlash(cesnet.DayFile(dayOf(day), ext)))
}

func statsPath(root, day string) string {
	return filepath.Join(root, filepath.FromSlash(cesnet.DayStatsFile(dayOf(day))))
}

// gunzipDay returns the CSV lines of a gz day file (header first).
func gunzipDay(t *testing.T, root, day string) []string {
	t.Helper()
	b, err := os.ReadFile(dayPath(root, day, "csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n")
}

func gzipDay(t *testing.T, root, day string, lines []string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	zw.Close()
	if err := os.WriteFile(dayPath(root, day, "csv.gz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// editField replaces the value of column col in data row i (1-based) of a
// day file.
func editField(t *testing.T, root, day, col string, i int, value string) {
	t.Helper()
	lines := gunzipDay(t, root, day)
	header, err := csv.NewReader(strings.NewReader(lines[0])).Read()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := csv.NewReader(strings.NewReader(lines[i])).Read()
	if err != nil {
		t.Fatal(err)
	}
	for k, h := range header {
		if h == col {
			old := lines[i]
			lines[i] = strings.Replace(lines[i], ","+rec[k]+",", ","+value+",", 1)
			if lines[i] == old {
				t.Fatalf("column %s of row %d not replaced", col, i)
			}
			gzipDay(t, root, day, lines)
			return
		}
	}
	t.Fatalf("no column %s", col)
}

func truncateFile(t *testing.T, p string, keep func(n int) int) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b[:keep(len(b))], 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	return dst
}

// pythonRows counts each day file's rows with Python's gzip and csv
// modules (testdata/count_rows.py), independently of our decoder.
func pythonRows(t *testing.T, root string) map[string]struct {
	Rows  int64  `json:"rows"`
	Lines int64  `json:"lines"`
	Error string `json:"error"`
} {
	t.Helper()
	out, err := exec.Command(python(t), "testdata/count_rows.py", root).Output()
	if err != nil {
		t.Fatalf("count_rows.py: %v", err)
	}
	var res map[string]struct {
		Rows  int64  `json:"rows"`
		Lines int64  `json:"lines"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// existingTables are the tables of the lake that have a Delta log.
func existingTables(lake string) []string {
	var out []string
	for _, n := range []string{"flows", "rejects", "traffic_hourly", "flow_features"} {
		if _, err := os.Stat(filepath.Join(lake, n, "_delta_log")); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func deltaRSTables(t *testing.T, lake string, tables []string) map[string]tableSummary {
	t.Helper()
	if len(tables) == 0 {
		return map[string]tableSummary{}
	}
	cmd := exec.Command(python(t), append([]string{"testdata/delta_summary.py", lake}, tables...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("delta-rs cannot read the lake: %v\n%s", err, stderr.String())
	}
	var res map[string]tableSummary
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("delta-rs output %q: %v", out, err)
	}
	return res
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errNothingToDo):
		return 99
	}
	return 1
}

// TestDefectiveInputs: one defect per case in small generated days. After
// every case: every raw row (counted by Python's csv module) is in flows or
// rejects, or its day file is quarantined and named in the failure; the
// exit code and the JSON result (last stdout line, on failure too) say
// so; delta-rs reads every table in full (valid UTF-8).
func TestDefectiveInputs(t *testing.T) {
	python(t)
	base := t.TempDir()
	generate(t, base, "--start", defectDays[0], "--days", "3", "--flows-per-day", "250", "--seed", "3", "--compress", "gz")
	tests := []struct {
		name   string
		defect func(t *testing.T, root string)
		from   string // day range (default: all)
		all    bool   // --job=all (default: parse, to keep the test short)
		// byLines counts raw rows as lines: a stray quote makes the csv
		// module join lines, where we reject the one line.
		byLines bool
		// want
		exit        int
		quarantined []string // days
		errText     string
		rejectCols  []string // columns of the rejects
		stderr      string
		checks      map[string]float64 // stats_check counts
	}{
		{name: "clean", all: true, defect: func(*testing.T, string) {}, checks: map[string]float64{"ok": 3}},
		{name: "gz cut in half", all: true, defect: func(t *testing.T, root string) {
			truncateFile(t, dayPath(root, "2022-03-08", "csv.gz"), func(n int) int { return n / 2 })
		}, exit: 1, quarantined: []string{"2022-03-08"}, errText: "unexpected EOF"},
		{name: "gz trailer cut", defect: func(t *testing.T, root string) {
			truncateFile(t, dayPath(root, "2022-03-09", "csv.gz"), func(n int) int { return n - 4 })
		}, exit: 1, quarantined: []string{"2022-03-09"}, errText: "unexpected EOF"},
		{name: "rows cut at a line boundary", defect: func(t *testing.T, root string) {
			lines := gunzipDay(t, root, "2022-03-08")
			gzipDay(t, root, "2022-03-08", lines[:len(lines)/2])
		}, exit: 1, quarantined: []string{"2022-03-08"}, errText: "stats-20220308.json says"},
		{name: "stats count wrong", defect: func(t *testing.T, root string) {
			b, _ := os.ReadFile(statsPath(root, "2022-03-07"))
			var st cesnet.Stats
			if err := json.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			st.Global.TotalSaved += 7
			for app := range st.Apps {
				st.Apps[app] += 7
				break
			}
			var buf bytes.Buffer
			cesnet.WriteStats(&buf, st)
			os.WriteFile(statsPath(root, "2022-03-07"), buf.Bytes(), 0o644)
		}, exit: 1, quarantined: []string{"2022-03-07"}, errText: "rows read, stats-20220307.json says", checks: map[string]float64{"ok": 2, "mismatch": 1}},
		{name: "stats unreadable", defect: func(t *testing.T, root string) {
			os.WriteFile(statsPath(root, "2022-03-07"), []byte("{"), 0o644)
		}, exit: 1, quarantined: []string{"2022-03-07"}, errText: "stats-20220307.json"},
		{name: "stats missing", defect: func(t *testing.T, root string) {
			os.Remove(statsPath(root, "2022-03-09"))
		}, checks: map[string]float64{"ok": 2, "no_stats": 1}},
		{name: "sni not utf-8", defect: func(t *testing.T, root string) {
			editField(t, root, "2022-03-08", "TLS_SNI", 5, "www.\xff\xfe.example")
		}, rejectCols: []string{"TLS_SNI"}},
		{name: "5 MB sni", defect: func(t *testing.T, root string) {
			editField(t, root, "2022-03-08", "TLS_SNI", 6, strings.Repeat("a", 5<<20))
		}, rejectCols: []string{"TLS_SNI"}},
		{name: "5 MB junk line", defect: func(t *testing.T, root string) {
			lines := gunzipDay(t, root, "2022-03-08")
			lines[7] = strings.Repeat("\xfejunk;", 5<<20/6)
			gzipDay(t, root, "2022-03-08", lines)
		}, rejectCols: []string{"(row)"}},
		{name: "stray quote", defect: func(t *testing.T, root string) {
			// A quote opens a field that does not close on its line.
			lines := gunzipDay(t, root, "2022-03-08")
			lines[9] = `"` + strings.ReplaceAll(lines[9], `"`, "")
			gzipDay(t, root, "2022-03-08", lines)
		}, rejectCols: []string{"(row)"}, byLines: true, checks: map[string]float64{"ok": 3}},
		{name: "extra column", defect: func(t *testing.T, root string) {
			lines := gunzipDay(t, root, "2022-03-07")
			lines[0] += ",EXTRA_COL"
			for i := 1; i < len(lines); i++ {
				lines[i] += ",1"
			}
			gzipDay(t, root, "2022-03-07", lines)
		}, stderr: "columns [EXTRA_COL] are not known"},
		{name: "no input in range", all: true, defect: func(*testing.T, string) {}, from: "2022-04-01", exit: 99},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, lake := copyTree(t, base), t.TempDir()
			tc.defect(t, raw)
			py := pythonRows(t, raw)
			c := defaults()
			c.Input, c.Lake = raw, lake
			if !tc.all {
				c.Job = "parse"
			}
			if tc.from != "" {
				c.From, c.To = tc.from, tc.from
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), c, &stdout, &stderr)
			taskio.Finish("pipeline", err, &stdout, &stderr, "") // a failure's result, as main writes it
			if got := exitCode(err); got != tc.exit {
				t.Errorf("exit %d (%v), want %d", got, err, tc.exit)
			}
			if tc.stderr != "" && !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tc.stderr, summaryLines(stderr.String()))
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			var res struct {
				Error       string             `json:"error"`
				File        string             `json:"file"`
				Checks      map[string]float64 `json:"stats_check"`
				Quarantined []struct {
					File, Day, Quarantined string
				} `json:"quarantined"`
			}
			if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil {
				t.Fatalf("last stdout line is not a JSON result: %q", lines[len(lines)-1])
			}
			if tc.exit == 1 {
				want := filepath.ToSlash(cesnet.DayFile(dayOf(tc.quarantined[0]), "csv.gz"))
				if res.File != want || !strings.Contains(res.Error, want) || !strings.Contains(res.Error, tc.errText) {
					t.Errorf("result error %q file %q; want the file %s named and %q", res.Error, res.File, want, tc.errText)
				}
			}
			var qdays []string
			for _, q := range res.Quarantined {
				qdays = append(qdays, q.Day)
			}
			if strings.Join(qdays, ",") != strings.Join(tc.quarantined, ",") {
				t.Errorf("quarantined days %v, want %v", qdays, tc.quarantined)
			}
			if tc.checks != nil {
				for k, v := range tc.checks {
					if res.Checks[k] != v {
						t.Errorf("stats_check %v, want %v", res.Checks, tc.checks)
						break
					}
				}
			}

			got := deltaRSTables(t, lake, existingTables(lake))
			if tc.exit == 99 {
				if len(got) != 0 {
					t.Errorf("nothing to do created tables %v", existingTables(lake))
				}
				return
			}
			for _, day := range defectDays {
				n := got["flows"].ByDay[day] + got["rejects"].ByDay[day]
				q := strings.Contains(strings.Join(tc.quarantined, ","), day)
				switch {
				case q && n != 0:
					t.Errorf("quarantined day %s has %d rows in the tables", day, n)
				case !q && py[day].Error != "":
					t.Errorf("day %s: Python cannot read it (%s) but it was not quarantined", day, py[day].Error)
				case !q && tc.byLines && n != py[day].Lines:
					t.Errorf("day %s: %d rows in flows+rejects, the file has %d lines", day, n, py[day].Lines)
				case !q && !tc.byLines && n != py[day].Rows:
					t.Errorf("day %s: %d rows in flows+rejects, Python reads %d", day, n, py[day].Rows)
				}
			}
			rj := got["rejects"]
			if strings.Join(rj.Columns, ",") != strings.Join(tc.rejectCols, ",") {
				t.Errorf("reject columns %v, want %v", rj.Columns, tc.rejectCols)
			}
			if rj.RawMax > cesnet.MaxRejectRaw {
				t.Errorf("a reject keeps %d bytes of raw text, at most %d allowed", rj.RawMax, cesnet.MaxRejectRaw)
			}
			if th, ff := got["traffic_hourly"], got["flow_features"]; tc.all && (th.Flows != got["flows"].Rows || ff.Rows != got["flows"].Rows) {
				t.Errorf("flows %d rows; traffic_hourly counts %d, flow_features %d", got["flows"].Rows, th.Flows, ff.Rows)
			}
		})
	}
}

// TestCutCommitDetected: a flows commit cut at a line boundary (files
// lost from the log) makes a rerun fail naming the commit, where it used
// to say "nothing to do" over a table missing rows.
func TestCutCommitDetected(t *testing.T) {
	raw, lake := t.TempDir(), t.TempDir()
	if _, err := flowgenWeek(raw, 2); err != nil {
		t.Fatal(err)
	}
	c := defaults()
	c.Job, c.Input, c.Lake, c.FileRows = "parse", raw, lake, 10
	if _, err := runCLI(t, c); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(lake, "flows", "_delta_log", "00000000000000000001.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if err := os.WriteFile(p, bytes.Join(lines[:len(lines)/2], nil), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := runCLI(t, c)
	if exitCode(err) != 1 || !strings.Contains(fmtErr(res), "00000000000000000001.json (version 1): commitInfo records") {
		t.Errorf("rerun over a cut commit: err %v, result %v; want a failure naming the commit", err, res)
	}
}

func fmtErr(res map[string]any) string { s, _ := res["error"].(string); return s }

func flowgenWeek(root string, days int) ([]cesnet.Flow, error) {
	return flowgen.Week(root, dayOf(defectDays[0]), days, 60, 6, 5)
}

// TestVacuum: files no commit references (an orphan of a killed run, the
// files a re-ingested day replaced) are deleted once older than the
// retention; live files stay and delta-rs reads every table; a second
// vacuum has nothing to do.
func TestVacuum(t *testing.T) {
	raw, lake := t.TempDir(), t.TempDir()
	if _, err := flowgenWeek(raw, 2); err != nil {
		t.Fatal(err)
	}
	c := defaults()
	c.Input, c.Lake = raw, lake
	first, err := runCLI(t, c)
	if err != nil {
		t.Fatal(err)
	}
	// --job=all without input in range on an existing lake: nothing to do,
	// no commit (it used to recompute every week with exit 0).
	none := defaults()
	none.Input, none.Lake, none.From, none.To = raw, lake, "2022-04-01", "2022-04-01"
	res, err := runCLI(t, none)
	if exitCode(err) != 99 {
		t.Errorf("no input in range on an existing lake: %v, want nothing to do", err)
	}
	for _, k := range []string{"flows_version", "traffic_hourly_version", "flow_features_version"} {
		if res[k] != first[k] {
			t.Errorf("%s moved from %v to %v without input", k, first[k], res[k])
		}
	}
	// Re-ingest day 1 with new content: its old files become tombstones.
	if _, err := flowgen.WriteDay(raw, dayOf(defectDays[0]), "csv.gz", flowgen.Encode(flowgen.Day(dayOf(defectDays[0]), 40, 6, 9))); err != nil {
		t.Fatal(err)
	}
	c.Job = "parse"
	if _, err := runCLI(t, c); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(lake, "flows", "week=2022-W10", "part-00000-orphan-c000.zstd.parquet")
	os.MkdirAll(filepath.Dir(orphan), 0o755)
	if err := os.WriteFile(orphan, []byte("PAR1 killed run"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := deltaRSTables(t, lake, existingTables(lake))

	v := defaults()
	v.Job, v.Lake, v.Retention = "vacuum", lake, 0
	if _, err := runCLI(t, v); err == nil || !strings.Contains(err.Error(), "allow_short_retention") {
		t.Errorf("vacuum with retention 0: %v; want a refusal", err)
	}
	// A week's retention keeps today's files.
	v.Retention = 7 * 24 * time.Hour
	if _, err := runCLI(t, v); exitCode(err) != 99 {
		t.Errorf("vacuum of fresh files: %v, want nothing to do", err)
	}
	v.Retention, v.ShortRetention = 0, true
	res, err = runCLI(t, v)
	if err != nil {
		t.Fatal(err)
	}
	deleted, _ := res["vacuum_deleted"].(map[string]any)
	if n, _ := deleted["flows"].(float64); n < 2 {
		t.Errorf("vacuum deleted %v; want the orphan and the replaced day's files of flows", res["vacuum_deleted"])
	}
	if _, err := os.Stat(orphan); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan still there: %v", err)
	}
	after := deltaRSTables(t, lake, existingTables(lake))
	for name, b := range before {
		if a := after[name]; a.Rows != b.Rows || a.Version != b.Version {
			t.Errorf("%s: %d rows at v%d after vacuum, %d at v%d before", name, a.Rows, a.Version, b.Rows, b.Version)
		}
	}
	if _, err := runCLI(t, v); exitCode(err) != 99 {
		t.Errorf("second vacuum: %v, want nothing to do", err)
	}
}

// TestQuarantineRerun: a run that quarantined a file is not "done": the
// same command fails again (not exit 99, which Airflow would mark skipped),
// and once the file is fixed the day is ingested.
func TestQuarantineRerun(t *testing.T) {
	raw, lake := t.TempDir(), t.TempDir()
	flows, err := flowgenWeek(raw, 2)
	if err != nil {
		t.Fatal(err)
	}
	p := dayPath(raw, defectDays[1], "csv.gz")
	good, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	truncateFile(t, p, func(n int) int { return n / 2 })
	c := defaults()
	c.Job, c.Input, c.Lake = "parse", raw, lake
	for attempt := 1; attempt <= 2; attempt++ {
		res, err := runCLI(t, c)
		if exitCode(err) != 1 || !strings.HasSuffix(fmt.Sprint(res["file"]), "flows-20220308.csv.gz") {
			t.Fatalf("attempt %d with a truncated file: %v (file %v), want exit 1 naming it", attempt, err, res["file"])
		}
		if n := num(t, res, "flows_rows"); n != int64(len(flows)/2) {
			t.Errorf("attempt %d: %d flows, want the other day's %d", attempt, n, len(flows)/2)
		}
	}
	if err := os.WriteFile(p, good, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := runCLI(t, c)
	if err != nil {
		t.Fatalf("after the fix: %v", err)
	}
	if n := num(t, res, "flows_rows"); n != int64(len(flows)) {
		t.Errorf("after the fix: %d flows, want %d", n, len(flows))
	}
}
