package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
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

func TestRunLake(t *testing.T) {
	ctx := context.Background()
	raw, lake := t.TempDir(), t.TempDir()
	if _, err := classifytest.WriteRaw(ctx, raw, 1, classifytest.Apps(6), classifytest.Weekly(5, 200)); err != nil {
		t.Fatal(err)
	}
	last, err := classifytest.WriteLake(ctx, lake, raw, classifytest.LakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cfg config
	cfg.data = classify.SourceFlags{Lake: lake, Version: -1}
	cfg.train = classify.TrainConfig{
		Out: filepath.Join(t.TempDir(), "models"), Members: []string{"linear"},
		Split: classify.SplitConfig{TrainWeeks: 2}, MinClassRows: 5, HoldoutFrac: 0.2,
		Member: classify.MemberConfig{Linear: classify.LinearConfig{Epochs: 1}},
	}
	train := func() (*classify.TrainResult, string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, cfg, &stdout, &stderr)
		if err != nil || stdout.Len() == 0 {
			return nil, stderr.String(), err
		}
		var res classify.TrainResult
		if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		return &res, stderr.String(), nil
	}
	res, log, err := train()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	if d := res.Data; d.Kind != "delta" || d.Table != classify.FeaturesTable || d.Version == nil || *d.Version != last {
		t.Errorf("result data %+v, want %s version %d", d, classify.FeaturesTable, last)
	}

	// The same data again: nothing to do, unless --force.
	if res, _, err := train(); !errors.Is(err, taskio.ErrNothingToDo) || res != nil {
		t.Errorf("second run: result %v, error %v; want nothing to do", res, err)
	}
	cfg.train.Force = true
	if res, log, err := train(); err != nil || len(res.Bundles) != 2 {
		t.Errorf("run with --force: result %v, error %v\n%s", res, err, log)
	}
	// An older version is other data.
	cfg.train.Force, cfg.data.Version = false, last-1
	if res, log, err := train(); err != nil || *res.Data.Version != last-1 {
		t.Errorf("run at version %d: result %v, error %v\n%s", last-1, res, err, log)
	}
}

func TestRunErrors(t *testing.T) {
	for _, cfg := range []config{
		{}, // no data
		{data: classify.SourceFlags{Lake: t.TempDir(), Version: -1}}, // no flow_features table
		{data: classify.SourceFlags{Raw: t.TempDir()}},               // no day files
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
