package tracking_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
)

// TestPromoteRescore: with a Rescore hook, a champion evaluated on an older
// window is scored on the challenger's window before the decision; when the
// hook says the champion learned from that window, the champion is kept and
// the reason recorded.
func TestPromoteRescore(t *testing.T) {
	_, tr := trackingtest.Tracker(t, "rescore-test")
	ctx := context.Background()
	const name = "clf"
	logged := func(t *testing.T, run, window string, f1 float64) *tracking.Run {
		t.Helper()
		r, err := tr.StartRun(ctx, "", run, tracking.RunTags{Kind: tracking.Classifier})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.LogEvaluation(ctx, tracking.Evaluation{Window: window, Scores: map[string]float64{"macro_f1": f1}}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	register := func(t *testing.T, run, window string, f1 float64) string {
		t.Helper()
		r := logged(t, run, window, f1)
		bundle := t.TempDir()
		if err := os.WriteFile(filepath.Join(bundle, "manifest.json"), []byte(`{}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := r.LogBundle(ctx, bundle, tracking.ModelSpec{Kind: tracking.Classifier, Format: "telcotraffic.classifier/1"}); err != nil {
			t.Fatal(err)
		}
		if err := r.End(ctx, mlflowclient.RunFinished); err != nil {
			t.Fatal(err)
		}
		reg, err := tracking.Register(ctx, tr.Client, tracking.RegisterOptions{Name: name, RunID: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		return reg.Version
	}
	opts := tracking.PromoteOptions{Name: name, Metric: "macro_f1", RecallFloor: -1}
	v1 := register(t, "w04", "2022-W04", 0.8)
	if d, err := tracking.Promote(ctx, tr.Client, opts); err != nil || d.Outcome != tracking.FirstChampion {
		t.Fatalf("first: %+v, %v", d, err)
	}

	// The champion scores 0.7 on the challenger's newer window.
	v2 := register(t, "w05", "2022-W05", 0.75)
	var asked string
	opts.Rescore = func(ctx context.Context, champ *mlflowclient.ModelVersion, chal *tracking.EvaluationOf) (string, error) {
		asked = fmt.Sprintf("v%s on %s", champ.Version, chal.Window)
		r := logged(t, "rescore", chal.Window, 0.7)
		return r.ID, r.End(ctx, mlflowclient.RunFinished)
	}
	d, err := tracking.Promote(ctx, tr.Client, opts)
	if err != nil || d.Outcome != tracking.Promoted || d.Window != "2022-W05" || d.ChampionScore == nil || *d.ChampionScore != 0.7 || d.RescoredRun == "" {
		t.Fatalf("second: %+v, %v", d, err)
	}
	if asked != "v"+v1+" on 2022-W05" {
		t.Errorf("rescore asked for %q", asked)
	}
	mv, err := tr.Client.ModelVersions.Get(ctx, name, v2)
	if err != nil {
		t.Fatal(err)
	}
	if run, _ := mv.Tag(tracking.TagPromotionPrefix + "champion_rescored_run"); run != d.RescoredRun {
		t.Errorf("challenger tag champion_rescored_run = %q, want %q", run, d.RescoredRun)
	}

	// An older challenger (a re-run of week 4): the champion trained on it.
	v3 := register(t, "w04-again", "2022-W04", 0.9)
	opts.Rescore = func(context.Context, *mlflowclient.ModelVersion, *tracking.EvaluationOf) (string, error) {
		return "", fmt.Errorf("%w: validated on 2022-W04", tracking.ErrStaleWindow)
	}
	d, err = tracking.Promote(ctx, tr.Client, opts)
	if err != nil || d.Outcome != tracking.KeptChampion || d.ChampionVersion != v2 || !strings.Contains(strings.Join(d.Reasons, ";"), "not comparable") {
		t.Fatalf("stale challenger v%s: %+v, %v", v3, d, err)
	}
	if _, err := tracking.Promote(ctx, tr.Client, opts); !errors.Is(err, tracking.ErrAlreadyDecided) {
		t.Errorf("stale challenger again: %v, want ErrAlreadyDecided", err)
	}
}
