package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	xcom := filepath.Join(t.TempDir(), "xcom", "return.json")
	cfg := synth.Config{Out: dir, Start: time.Date(2022, 3, 5, 0, 0, 0, 0, time.UTC), Days: 3, FlowsPerDay: 1000, Seed: 1, Compress: "gz"}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), cfg, xcom, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res synth.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last stdout line %q: %v", lines[len(lines)-1], err)
	}
	f, err := os.Open(filepath.Join(dir, synth.DatasetStatsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := cesnet.ReadStats(f, "stats-dataset.json")
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows == 0 || res.Rows != st.Global.TotalSaved || res.Files != 3 || res.Apps != 180 {
		t.Errorf("result %+v, dataset stats %d rows", res, st.Global.TotalSaved)
	}
	if x, err := os.ReadFile(xcom); err != nil || !json.Valid(x) {
		t.Errorf("xcom file: %v %q", err, x)
	}
	if !strings.Contains(stderr.String(), "synth: 3/3 days") || !strings.Contains(stderr.String(), "generate: ") {
		t.Errorf("stderr lacks progress and summary:\n%s", stderr.String())
	}

	var out bytes.Buffer
	if err := runDescribe(context.Background(), dir, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "rejects 0") {
		t.Errorf("describe:\n%s", out.String())
	}
}

func TestRunBadConfig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), synth.Config{Out: t.TempDir(), Days: 1, FlowsPerDay: 10}, "", &stdout, &stderr)
	if err == nil || stdout.Len() != 0 {
		t.Errorf("err %v, stdout %q: want an error and no result line", err, stdout.String())
	}
}
