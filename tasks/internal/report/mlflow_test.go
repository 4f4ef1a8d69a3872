package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
)

// mlflowFixture starts an mlflow server holding what the train, evaluate,
// register, promote and forecast tasks leave there: a champion classifier
// version whose run carries evaluate's report.json and confusion CSV under
// evaluation/, and a forecaster run with its table versions.
func mlflowFixture(t *testing.T) *mlflowclient.Client {
	t.Helper()
	ctx := t.Context()
	cfg, tr := trackingtest.Tracker(t, "telcotraffic-classifier")
	c, err := cfg.Client()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bundle, eval := filepath.Join(dir, "bundle"), filepath.Join(dir, "evaluation")
	for _, d := range []string{bundle, eval} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bundle, "manifest.json"), []byte(`{"format": "telcotraffic.classifier/1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, conf := testEvaluation(t)
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(eval, classify.ReportJSON), b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(eval, "confusion_sni.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := conf.WriteCSV(f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	run, err := tr.StartRun(ctx, "telcotraffic-classifier", "train-2022-W08",
		tracking.RunTags{Kind: tracking.Classifier, Tables: map[string]int64{"flow_features": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.LogBundle(ctx, bundle, tracking.ModelSpec{Kind: tracking.Classifier, Format: "telcotraffic.classifier/1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := run.LogArtifacts(ctx, eval, "evaluation"); err != nil {
		t.Fatal(err)
	}
	if err := run.LogEvaluation(ctx, tracking.Evaluation{Window: "2022-W08", Scores: map[string]float64{"macro_f1": 0.81, "accuracy": 0.9}}); err != nil {
		t.Fatal(err)
	}
	if err := run.End(ctx, mlflowclient.RunFinished); err != nil {
		t.Fatal(err)
	}
	if _, err := tracking.Register(ctx, c, tracking.RegisterOptions{Name: DefaultModel, RunID: run.ID, Alias: tracking.AliasChampion}); err != nil {
		t.Fatal(err)
	}

	fr, err := tr.StartRun(ctx, DefaultForecastExperiment, "forecast-2022-02-24",
		tracking.RunTags{Kind: tracking.Forecaster, Tables: map[string]int64{HourlyTable: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := fr.SetTags(ctx, map[string]string{tracking.OutputTag(ForecastsTable): "1"}); err != nil {
		t.Fatal(err)
	}
	if err := fr.End(ctx, mlflowclient.RunFinished); err != nil {
		t.Fatal(err)
	}
	return c
}

// testEvaluation is an evaluate report of two test weeks with and without
// SNI, and the first week's confusion matrix over six apps of the test
// lake and the unknown class.
func testEvaluation(t testing.TB) (*classify.Report, *classify.Confusion) {
	hourly := generatedHourly(t)
	seen := map[string]bool{}
	var apps []string
	for _, r := range hourly {
		if !seen[r.App] {
			seen[r.App] = true
			apps = append(apps, r.App)
		}
	}
	slices.Sort(apps)
	labels := append(apps[:6:6], "unknown")
	conf := &classify.Confusion{Labels: labels, M: make([][]int64, len(labels))}
	for i := range conf.M {
		conf.M[i] = make([]int64, len(labels))
		conf.M[i][i] = int64(50 + 10*i)
		conf.M[i][(i+1)%len(labels)] = int64(3 + i)
	}
	v := int64(3)
	rep := &classify.Report{Created: time.Date(2022, 2, 24, 0, 0, 0, 0, time.UTC),
		Data:  classify.DataVersion{Kind: "delta", URI: "LAKE/flow_features", Table: "flow_features", Version: &v},
		Weeks: []string{"2022-W08", "2022-W09"}}
	for k, fs := range []classify.FeatureSet{classify.FeaturesSNI, classify.FeaturesNoSNI} {
		vr := classify.VariantReport{FeatureSet: fs, Model: "stack", Members: []string{"xgb", "seqnet"}, Classes: len(labels) - 1}
		for w, wk := range rep.Weeks {
			f1 := 0.9 - 0.15*float64(k) - 0.03*float64(w)
			vr.Weeks = append(vr.Weeks, classify.WeekReport{Week: wk, Flows: 1000,
				Ensemble: classify.Scores{Flows: 1000, Accuracy: f1 + 0.05, MacroF1: f1},
				OpenSet:  classify.OpenSet{FPR: 0.05, TPRAtFPR: classify.Num(0.6 - 0.1*float64(k))}})
		}
		for i, a := range labels[:len(labels)-1] {
			f1 := 0.5 + 0.08*float64(i) - 0.1*float64(k)
			vr.First.PerClass = append(vr.First.PerClass, classify.ClassScore{Class: a, Precision: f1 + 0.02, Recall: f1 - 0.02, F1: f1, Support: int64(50 + i)})
		}
		if fs == classify.FeaturesSNI {
			vr.ConfusionCSV = "confusion_sni.csv"
		}
		rep.Variants = append(rep.Variants, vr)
	}
	return rep, conf
}
