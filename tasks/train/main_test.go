package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/taskio/taskiotest"
)

func TestRun(t *testing.T) {
	root := t.TempDir()
	if _, err := classifytest.WriteRaw(context.Background(), root, 1, classifytest.Apps(6), classifytest.Weekly(4, 200)); err != nil {
		t.Fatal(err)
	}
	var cfg config
	cfg.data.Raw = root
	cfg.train = classify.TrainConfig{
		Out: filepath.Join(t.TempDir(), "models"), Members: []string{"xgb", "linear"},
		Split: classify.SplitConfig{TrainWeeks: 2}, MinClassRows: 5, HoldoutFrac: 0.2,
		Member: classify.MemberConfig{XGB: classify.XGBConfig{Rounds: 3, Threads: 1}, Linear: classify.LinearConfig{Epochs: 1}},
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), cfg, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res classify.TrainResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last stdout line %q: %v", lines[len(lines)-1], err)
	}
	if len(res.Bundles) != 2 || res.Classes == 0 || res.Data.Kind != "raw" {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(stderr.String(), "classify:") {
		t.Errorf("no progress on stderr: %q", stderr.String())
	}
}

func TestRunErrors(t *testing.T) {
	for _, cfg := range []config{
		{}, // no data
		{data: classify.SourceFlags{Lake: "s3://b/t"}}, // lake reader not wired in yet
		{data: classify.SourceFlags{Raw: t.TempDir()}}, // no day files
	} {
		var stdout bytes.Buffer
		if err := run(context.Background(), cfg, &stdout, &bytes.Buffer{}); err == nil {
			t.Errorf("config %+v: no error", cfg.data)
		}
		if stdout.Len() != 0 {
			t.Errorf("config %+v: result written on failure: %q", cfg.data, stdout.String())
		}
	}
}

// Task binaries must stay small: they must not link the Beam SDK.
func TestNoBeamDependency(t *testing.T) {
	taskiotest.CheckLinks(t, "github.com/telcotraffic/telcotraffic/tasks/internal/xgb", "github.com/apache/beam")
}
