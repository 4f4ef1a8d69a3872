package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
)

// TestRun drives the task's run function against a real MLflow server:
// nothing to do (exit 99) without a challenger, the first challenger
// becoming champion, a better challenger that collapsed a class being
// rejected, and a metric whose direction must be given.
func TestRun(t *testing.T) {
	mlflow, tr := trackingtest.Tracker(t, "promote-test")
	ctx := context.Background()
	const name = "telco-classifier"

	// candidate logs and registers a model evaluated on 2022-W13.
	candidate := func(t *testing.T, runName string, f1 float64, recall map[string]float64) string {
		t.Helper()
		trun, err := tr.StartRun(ctx, "", runName, tracking.RunTags{Kind: tracking.Classifier})
		if err != nil {
			t.Fatal(err)
		}
		bundle := t.TempDir()
		if err := os.WriteFile(filepath.Join(bundle, "manifest.json"), []byte(`{}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := trun.LogBundle(ctx, bundle, tracking.ModelSpec{Kind: tracking.Classifier, Format: "telcotraffic.classifier/1"}); err != nil {
			t.Fatal(err)
		}
		ev := tracking.Evaluation{Window: "2022-W13", Scores: map[string]float64{"macro_f1": f1, "weird_score": f1}, ClassRecall: recall}
		if err := trun.LogEvaluation(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if err := trun.End(ctx, mlflowclient.RunFinished); err != nil {
			t.Fatal(err)
		}
		reg, err := tracking.Register(ctx, tr.Client, tracking.RegisterOptions{Name: name, RunID: trun.ID})
		if err != nil {
			t.Fatal(err)
		}
		return reg.Version
	}
	call := func(t *testing.T, opts tracking.PromoteOptions) (tracking.Decision, string, error) {
		t.Helper()
		opts.Name = name
		if opts.Metric == "" {
			opts.Metric = "macro_f1"
		}
		var stdout, stderr bytes.Buffer
		err := run(ctx, config{mlflow: mlflow, promote: opts}, &stdout, &stderr)
		var d tracking.Decision
		if out := strings.TrimSpace(stdout.String()); out != "" {
			lines := strings.Split(out, "\n")
			if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &d); jerr != nil {
				t.Fatalf("last stdout line %q: %v", lines[len(lines)-1], jerr)
			}
		}
		return d, stderr.String(), err
	}

	d, _, err := call(t, tracking.PromoteOptions{})
	if !errors.Is(err, taskio.ErrNothingToDo) || d.Outcome != tracking.NothingToDo || d.ChampionVersion != "" {
		t.Errorf("no model yet: decision %+v, err %v; want nothing to do (exit 99)", d, err)
	}

	v1 := candidate(t, "train-1", 0.6, map[string]float64{"web": 0.7, "video": 0.5})
	d, stderr, err := call(t, tracking.PromoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != tracking.FirstChampion || d.ChampionVersion != v1 || d.ChallengerScore != 0.6 {
		t.Errorf("first challenger: %+v", d)
	}
	if !strings.Contains(stderr, "first_champion on macro_f1, window 2022-W13: challenger v1 macro_f1=0.6") {
		t.Errorf("stderr = %q", stderr)
	}
	d, _, err = call(t, tracking.PromoteOptions{})
	if !errors.Is(err, taskio.ErrNothingToDo) || d.ChampionVersion != v1 {
		t.Errorf("after promotion: decision %+v, err %v; want nothing to do with champion %s", d, err, v1)
	}

	// Better on macro-F1, but video collapsed.
	v2 := candidate(t, "train-2", 0.7, map[string]float64{"web": 0.99, "video": 0.01})
	d, stderr, err = call(t, tracking.PromoteOptions{RecallFloor: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if d.Outcome != tracking.Rejected || d.ChampionVersion != v1 || d.ChallengerVersion != v2 ||
		d.ChampionScore == nil || *d.ChampionScore != 0.6 || d.ChallengerScore != 0.7 {
		t.Errorf("collapsed challenger: %+v", d)
	}
	if diff := cmp.Diff([]string{"video"}, d.Collapsed); diff != "" {
		t.Errorf("collapsed classes (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "vs champion v1 macro_f1=0.6") {
		t.Errorf("stderr lacks the champion's score: %q", stderr)
	}
	if _, _, err := call(t, tracking.PromoteOptions{RecallFloor: 0.05}); !errors.Is(err, taskio.ErrNothingToDo) {
		t.Errorf("repeated promote: %v, want nothing to do", err)
	}

	// A metric of unknown direction needs --higher-is-better.
	if _, _, err := call(t, tracking.PromoteOptions{Metric: "weird_score"}); err == nil || errors.Is(err, taskio.ErrNothingToDo) ||
		!strings.Contains(err.Error(), "upwards or downwards") {
		t.Errorf("unknown direction: %v", err)
	}
	higher := true
	d, _, err = call(t, tracking.PromoteOptions{Metric: "weird_score", HigherIsBetter: &higher, RecallFloor: -1})
	if err != nil || d.Outcome != tracking.Promoted || d.ChampionVersion != v2 {
		t.Errorf("with --higher-is-better and no recall floor: %+v, %v; want %s promoted", d, err, v2)
	}

	// A challenger without an evaluation window (a forecaster fitted before
	// there was history for a backtest) has nothing to be compared on:
	// nothing to do, the champion stays.
	trun, err := tr.StartRun(ctx, "", "no-backtest", tracking.RunTags{Kind: tracking.Classifier})
	if err != nil {
		t.Fatal(err)
	}
	bundle := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundle, "manifest.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := trun.LogBundle(ctx, bundle, tracking.ModelSpec{Kind: tracking.Classifier, Format: "telcotraffic.classifier/1"}); err != nil {
		t.Fatal(err)
	}
	if err := trun.End(ctx, mlflowclient.RunFinished); err != nil {
		t.Fatal(err)
	}
	reg, err := tracking.Register(ctx, tr.Client, tracking.RegisterOptions{Name: name, RunID: trun.ID})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err = call(t, tracking.PromoteOptions{})
	if !errors.Is(err, taskio.ErrNothingToDo) || d.ChampionVersion != v2 || d.ChallengerVersion != reg.Version ||
		len(d.Reasons) != 1 || !strings.Contains(d.Reasons[0], "no evaluation window") {
		t.Errorf("challenger %s without an evaluation: %+v, %v; want nothing to do, champion %s", reg.Version, d, err, v2)
	}
}

// Task binaries must stay small: no Beam SDK (README, Architecture). Promote
// links the classifier (libxgboost) to score the champion again on a
// challenger's window.

func TestDependencies(t *testing.T) {
	taskiotest.CheckLinks(t, "github.com/telcotraffic/telcotraffic/tasks/internal/tracking", "github.com/apache/beam")
}
