package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/mlflowclient"

	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
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

// TestRunLogged: with --experiment train logs its own run (params,
// validation scores, the sequence net's per-epoch history, the bundle root
// as the run's model); the same data again is nothing to do once a
// finished run logged the bundles, and an error when none did.
func TestRunLogged(t *testing.T) {
	ctx := context.Background()
	mc, tr := trackingtest.Tracker(t, "train-test")
	root := t.TempDir()
	if _, err := classifytest.WriteRaw(ctx, root, 1, classifytest.Apps(6), classifytest.Weekly(4, 200)); err != nil {
		t.Fatal(err)
	}
	var cfg config
	cfg.data.Raw = root
	cfg.track.experiment = "train-test"
	cfg.mlflow = func() (tracking.Config, error) { return mc, nil }
	cfg.train = classify.TrainConfig{
		Out: filepath.Join(t.TempDir(), "models"), Members: []string{"xgb", "seqnet"},
		Split: classify.SplitConfig{TrainWeeks: 2}, MinClassRows: 5, HoldoutFrac: 0.2,
		Member: classify.MemberConfig{XGB: classify.XGBConfig{Rounds: 3, Threads: 1},
			Seqnet: classify.SeqnetConfig{MaxRows: 300, Train: seqnet.TrainConfig{MaxEpochs: 2}}},
	}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, cfg, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var res classify.TrainResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.MLflowRunID == "" || !strings.Contains(res.MLflowRunURL, res.MLflowRunID) {
		t.Fatalf("result names no run: %+v", res)
	}
	r, err := tr.Client.Runs.Get(ctx, res.MLflowRunID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Info.Status != mlflowclient.RunFinished {
		t.Errorf("run status %s", r.Info.Status)
	}
	if p, _ := r.Data.Param("members"); p != "xgb,seqnet" {
		t.Errorf("param members = %q", p)
	}
	if _, ok := r.Data.Metric("val_macro_f1/sni/xgb"); !ok {
		t.Errorf("no val_macro_f1/sni/xgb among %v", r.Data.Metrics)
	}
	if k, _ := r.Data.Tag(tracking.TagKind); k != string(tracking.Classifier) {
		t.Errorf("kind tag %q", k)
	}
	var epochs int
	for _, err := range tr.Client.Runs.MetricHistory(ctx, res.MLflowRunID, "seqnet/sni/train_loss") {
		if err != nil {
			t.Fatal(err)
		}
		epochs++
	}
	if epochs == 0 {
		t.Error("no per-epoch history seqnet/sni/train_loss")
	}
	var rounds int
	for _, err := range tr.Client.Runs.MetricHistory(ctx, res.MLflowRunID, "xgb/sni/xgb/valid_mlogloss") {
		if err != nil {
			t.Fatal(err)
		}
		rounds++
	}
	if rounds == 0 {
		t.Error("no per-round history xgb/sni/xgb/valid_mlogloss")
	}
	uri, err := tr.Client.Artifacts.RunArtifactURI(ctx, res.MLflowRunID)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tr.Client.Artifacts.List(ctx, uri, tracking.BundleArtifactPath)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Path)
	}
	if !slices.Contains(names, "model/MLmodel") || !slices.Contains(names, "model/sni") || !slices.Contains(names, "model/no-sni") {
		t.Errorf("model artifacts %v, want MLmodel and both bundles", names)
	}

	// Again on the same data: nothing to do, a finished run logged them.
	if err := run(ctx, cfg, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, taskio.ErrNothingToDo) {
		t.Errorf("second run: %v, want nothing to do", err)
	}
	// Bundles no run logged (an earlier attempt failed after training):
	// an error, not a silent skip.
	cfg.track.experiment = "train-test-other"
	if err := run(ctx, cfg, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("bundles never logged: %v, want an error asking for --force", err)
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
