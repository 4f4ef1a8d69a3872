package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--raw", "r"}, "--out is required"},
		{[]string{"--out", "o"}, "exactly one of --raw and --lake"},
		{[]string{"--out", "o", "--raw", "r", "--lake", "l"}, "exactly one of --raw and --lake"},
		{[]string{"--out", "o", "--raw", "r", "--retrain", "hourly"}, "--retrain"},
		{[]string{"--out", "o", "--raw", "r", "--threshold", "total/bytes"}, "--threshold"},
		{[]string{"--out", "o", "--raw", "r", "--threshold", "total/bytes=-1"}, "--threshold"},
		{[]string{"--out", "o", "--raw", "r", "--retrain", "3", "--threshold", "total/bytes=5e9, app:x/flows=10"}, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg, err := parseFlags(fs, tt.args)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%v: error %v, want one mentioning %q", tt.args, err, tt.wantErr)
		case err == nil:
			want := map[string]float64{"total/bytes": 5e9, "app:x/flows": 10}
			if d := cmp.Diff(want, cfg.fc.Thresholds); d != "" || cfg.fc.Backtest.RetrainDays != 3 {
				t.Errorf("%v: thresholds (-want +got) %s, retrain %d", tt.args, d, cfg.fc.Backtest.RetrainDays)
			}
		}
	}
}

// generatedRaw writes 29 generated days (3,000 flows a day) and returns
// their root.
func generatedRaw(t *testing.T) string {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "raw")
	_, err := synth.Generate(t.Context(), synth.Config{
		Out: raw, Start: time.Date(2022, 2, 1, 0, 0, 0, 0, time.UTC), Days: 29,
		FlowsPerDay: 3000, Seed: 2, Compress: "gz", Workers: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRunOnGeneratedData runs the task on a small generated dataset and
// checks the task contract: the JSON result is the last stdout line with
// the headline keys, and the forecasts cover 24 hours of every series.
func TestRunOnGeneratedData(t *testing.T) {
	ctx := t.Context()
	raw, out := generatedRaw(t), filepath.Join(t.TempDir(), "out")
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	cfg, err := parseFlags(fs, []string{"--raw", raw, "--out", out, "--backtest-weeks", "1",
		"--metrics", "flows", "--max-apps", "3", "--threshold", "total/flows=1", "--headroom", "0"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, cfg, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last stdout line %q: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"mase", "mase_snaive168", "coverage_80", "peak_capture", "peak_event_recall", "peak_event_precision", "run_date", "forecast_rows"} {
		if res[k] == nil {
			t.Errorf("result has no %s: %v", k, res)
		}
	}
	if res["run_date"] != "2022-03-02" {
		t.Errorf("run_date %v, want the day after the data", res["run_date"])
	}
	series := int(res["series"].(float64))
	f, err := os.Open(filepath.Join(out, "forecasts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(recs)-1, 24*series; got != want || int(res["forecast_rows"].(float64)) != want {
		t.Errorf("forecasts.csv has %d rows, result says %v; want %d (24 × %d series)", got, res["forecast_rows"], want, series)
	}
	// A capacity of one flow an hour: the total alerts for the whole horizon.
	var alerts []struct {
		Series string `json:"series"`
		Hours  int    `json:"hours"`
	}
	b, err := os.ReadFile(filepath.Join(out, "alerts.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &alerts); err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Series != "total" || alerts[0].Hours != 24 {
		t.Errorf("alerts %+v, want the total over its threshold for 24 h", alerts)
	}
	for _, name := range []string{"forecasts.json", "backtest.json", "backtest.csv"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(stderr.String(), "snaive168") {
		t.Errorf("stderr has no backtest table:\n%s", stderr.String())
	}
}

// TestNoBeamDependency: task binaries must not link the Beam SDK.
func TestNoBeamDependency(t *testing.T) {
	taskiotest.CheckLinks(t, "github.com/telcotraffic/telcotraffic/tasks/internal/forecast", "github.com/apache/beam")
}
