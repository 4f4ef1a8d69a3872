package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
)

func TestRun(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	if _, err := classifytest.WriteRaw(ctx, root, 2, classifytest.Apps(6), classifytest.Weekly(4, 200)); err != nil {
		t.Fatal(err)
	}
	src, err := classify.NewRawSource(root, featuredef.FeatureConfig{})
	if err != nil {
		t.Fatal(err)
	}
	models := filepath.Join(t.TempDir(), "models")
	_, err = classify.Train(ctx, src, classify.TrainConfig{
		Out: models, Members: []string{"xgb", "linear"}, Split: classify.SplitConfig{TrainWeeks: 2},
		MinClassRows: 5, HoldoutFrac: 0.2,
		Member: classify.MemberConfig{XGB: classify.XGBConfig{Rounds: 3, Threads: 1}, Linear: classify.LinearConfig{Epochs: 1}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cfg config
	cfg.data.Raw = root
	cfg.eval = classify.EvalConfig{Models: []string{models}, Out: filepath.Join(t.TempDir(), "report")}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, cfg, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last stdout line %q: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"accuracy", "macro_f1", "macro_f1_no_sni", "unknown_tpr_at_5fpr"} {
		if _, ok := res[k].(float64); !ok {
			t.Errorf("result %s = %v, want a number", k, res[k])
		}
	}
	for _, k := range []string{"report", "report_text"} {
		if _, err := os.Stat(res[k].(string)); err != nil {
			t.Errorf("result %s: %v", k, err)
		}
	}
	if !strings.Contains(stderr.String(), "macro_f1_no_sni") {
		t.Errorf("text report not on stderr:\n%s", stderr.String())
	}

	// --run-id: the evaluation and the report go to train's run.
	mc, tr := trackingtest.Tracker(t, "evaluate-test")
	trun, err := tr.StartRun(ctx, "", "train-x", tracking.RunTags{Kind: tracking.Classifier})
	if err != nil {
		t.Fatal(err)
	}
	logged := cfg
	logged.runID = trun.ID
	logged.mlflow = func() (tracking.Config, error) { return mc, nil }
	logged.eval.Out = filepath.Join(t.TempDir(), "report")
	if err := run(ctx, logged, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("run with --run-id: %v", err)
	}
	r, err := tr.Client.Runs.Get(ctx, trun.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := r.Data.Tag(tracking.TagEvalWindow); w == "" || w != res["test_week"] {
		t.Errorf("run window tag %q, want the test week %v", w, res["test_week"])
	}
	if v, ok := r.Data.Metric("macro_f1"); !ok || v != res["macro_f1"] {
		t.Errorf("run macro_f1 %v (%v), want %v", v, ok, res["macro_f1"])
	}
	uri, err := tr.Client.Artifacts.RunArtifactURI(ctx, trun.ID)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tr.Client.Artifacts.Download(ctx, uri, "evaluation/"+classify.ReportJSON, &buf); err != nil || buf.Len() == 0 {
		t.Errorf("artifact evaluation/%s: %v", classify.ReportJSON, err)
	}

	// The same rows from the lake's flow_features table.
	lake := t.TempDir()
	last, err := classifytest.WriteLake(ctx, lake, root, classifytest.LakeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.data = classify.SourceFlags{Lake: lake, Version: -1}
	cfg.eval.Out = filepath.Join(t.TempDir(), "report")
	stdout.Reset()
	if err := run(ctx, cfg, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatalf("run with --lake: %v", err)
	}
	var rep classify.Report
	b, err := os.ReadFile(filepath.Join(cfg.eval.Out, classify.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if d := rep.Data; d.Kind != "delta" || d.Version == nil || *d.Version != last || len(rep.Weeks) != 1 {
		t.Errorf("report data %+v, weeks %v; want %s version %d, one test week", d, rep.Weeks, classify.FeaturesTable, last)
	}
}

func TestRunErrors(t *testing.T) {
	for _, cfg := range []config{
		{},
		{eval: classify.EvalConfig{Models: []string{t.TempDir()}, Out: t.TempDir()}},
		{data: classify.SourceFlags{Raw: t.TempDir()}, eval: classify.EvalConfig{Models: []string{t.TempDir()}, Out: t.TempDir()}},
	} {
		var stdout bytes.Buffer
		if err := run(context.Background(), cfg, &stdout, &bytes.Buffer{}); err == nil {
			t.Errorf("config %+v: no error", cfg)
		}
		if stdout.Len() != 0 {
			t.Errorf("result written on failure: %q", stdout.String())
		}
	}
}

// Task binaries must stay small: they must not link the Beam SDK.
func TestNoBeamDependency(t *testing.T) {
	taskiotest.CheckLinks(t, "github.com/telcotraffic/telcotraffic/tasks/internal/seqnet", "github.com/apache/beam")
}
