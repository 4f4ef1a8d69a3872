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
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
)

// Task binaries must stay small: no Beam SDK (README, Architecture).
func TestNoBeamDependency(t *testing.T) {
	taskiotest.CheckLinks(t, "github.com/telcotraffic/telcotraffic/tasks/internal/drift", "github.com/apache/beam")
}

// lakeWithDays generates days of traffic from start and writes their
// flow_features table under a new lake root.
func lakeWithDays(t testing.TB, start string, days, flows int) string {
	t.Helper()
	lake := filepath.Join(t.TempDir(), "lake")
	writeDays(t, lake, start, days, flows, storage.Options{})
	return lake
}

// writeDays generates days of traffic from start and writes their
// flow_features table under the lake root (a local path or an s3:// URI).
func writeDays(t testing.TB, lake, start string, days, flows int, opts storage.Options) {
	t.Helper()
	ctx := context.Background()
	raw := t.TempDir()
	d, _ := time.Parse(cesnet.DayLayout, start)
	// The scripted changes only (tinder from 2022-06-06), without the
	// per-app drift calendar: the other days are quiet.
	script := synth.DefaultScript()
	script.Drifts = nil
	if _, err := synth.Generate(ctx, synth.Config{Out: raw, Start: d, Days: days, FlowsPerDay: flows, Seed: 3,
		Compress: "none", Workers: 1, Script: script}); err != nil {
		t.Fatal(err)
	}
	if _, err := classifytest.WriteLake(ctx, lake, raw, classifytest.LakeOptions{Store: opts}); err != nil {
		t.Fatal(err)
	}
}

// referenceOf profiles the flow_features days [from, to] as a model trained
// on them would save it.
func referenceOf(t testing.TB, lake, from, to string) *drift.Reference {
	t.Helper()
	return referenceAt(t, lake, from, to, storage.Options{})
}

// referenceAt is referenceOf for a lake reached with opts.
func referenceAt(t testing.TB, lake, from, to string, opts storage.Options) *drift.Reference {
	t.Helper()
	ctx := context.Background()
	src, err := classify.OpenLakeSource(ctx, lake, -1, opts)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := time.Parse(cesnet.DayLayout, from)
	l, _ := time.Parse(cesnet.DayLayout, to)
	prof := drift.NewProfiler(drift.ProfileConfig{Seed: 1})
	apps := map[string]bool{}
	if err := src.Scan(ctx, f, l, func(r *tablerow.FlowFeatures) error {
		prof.Add(r)
		apps[r.App] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var classes []string
	for a := range apps {
		if a != "tinder" { // a class the model never had
			classes = append(classes, a)
		}
	}
	recall := map[string]float64{}
	for _, c := range classes {
		recall[c] = 0.9
	}
	ref, err := prof.Reference(drift.ModelProfile{FeatureSet: "no-sni", Classes: classes, MeanMaxProb: 0.8, ValAccuracy: 0.9, ClassRecall: recall})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// writePredictions writes flow_predictions rows for a day of flow_features:
// right for 9 flows in 10, wrong otherwise, every 20th flow unknown.
func writePredictions(t *testing.T, lake, day string) int {
	t.Helper()
	ctx := context.Background()
	src, err := classify.OpenLakeSource(ctx, lake, -1, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := time.Parse(cesnet.DayLayout, day)
	var rows []tablerow.FlowPrediction
	if err := src.Scan(ctx, d, d, func(r *tablerow.FlowFeatures) error {
		i := len(rows)
		p := tablerow.FlowPrediction{Day: day, ID: r.ID, App: r.App, Category: r.Category, Prob: 0.85, Variant: "no-sni",
			TrueApp: r.App, TrueCategory: r.Category, SNIDomain: r.SNIDomain, JA3Bucket: r.JA3Bucket,
			ModelName: "telco-classifier", ModelVersion: "1"}
		if i%10 == 3 {
			p.App, p.Prob = "other-app", 0.4
		}
		if i%20 == 7 {
			p.App, p.Category, p.Unknown, p.Prob = "", "", true, 0.2
		}
		rows = append(rows, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	store, err := storage.Open(ctx, drift.PredictionsTable.URI(lake), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := lakehouse.OpenOrCreate[tablerow.FlowPrediction](ctx, store, lakehouse.CreateOptions{Name: drift.PredictionsTable.Name,
		PartitionColumns: []string{"day"}}, lakehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lakehouse.Write(ctx, tb, rows, lakehouse.WriteOptions{Mode: lakehouse.ModeAppend}); err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// registerChampion logs a bundle holding ref as a run's model and
// registers it as name's champion.
func registerChampion(t *testing.T, tr *tracking.Tracker, name string, ref *drift.Reference) *tracking.Registered {
	t.Helper()
	ctx := context.Background()
	bundle := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundle, "manifest.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := drift.SaveReference(ctx, bundle, ref, storage.Options{}); err != nil {
		t.Fatal(err)
	}
	run1, err := tr.StartRun(ctx, "", "train", tracking.RunTags{Kind: tracking.Classifier})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run1.LogBundle(ctx, bundle, tracking.ModelSpec{Kind: tracking.Classifier, Format: "telcotraffic.classifier/1"}); err != nil {
		t.Fatal(err)
	}
	if err := run1.End(ctx, mlflowclient.RunFinished); err != nil {
		t.Fatal(err)
	}
	reg, err := tracking.Register(ctx, tr.Client, tracking.RegisterOptions{Name: name, RunID: run1.ID, Alias: tracking.AliasChampion})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func readTable[T any](t testing.TB, uri string) []T {
	t.Helper()
	return readTableAt[T](t, uri, storage.Options{})
}

// readTableAt is readTable for a table reached with opts.
func readTableAt[T any](t testing.TB, uri string, opts storage.Options) []T {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, uri, opts)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := lakehouse.Open(ctx, store, lakehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := tb.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for r, err := range lakehouse.Rows[T](ctx, tb, snap) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestRun drives the task against a real MLflow server and a lake of
// generated days: no champion (exit 99), the champion's reference.json
// resolved through the registry, a day without predictions (the
// prediction streams unavailable), a day with them, a day checked twice,
// a day without data, and the tables written.
func TestRun(t *testing.T) {
	ctx := context.Background()
	// tinder appears on 2022-06-06; the model was trained before.
	lake := lakeWithDays(t, "2022-06-01", 7, 8000)
	mlflow, tr := trackingtest.Tracker(t, "driftcheck-test")
	const name = "telco-classifier"
	call := func(t *testing.T, day string, force bool) (*drift.Result, string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		cfg := config{lake: lake + "/flow_features", day: day, version: -1, name: name, alias: tracking.AliasChampion,
			force: force, th: drift.DefaultThresholds(), mlflow: &mlflow}
		err := run(ctx, cfg, &stdout, &stderr)
		if out := strings.TrimSpace(stdout.String()); out != "" {
			var res drift.Result
			if jerr := json.Unmarshal([]byte(out), &res); jerr != nil {
				t.Fatalf("stdout %q: %v", out, jerr)
			}
			return &res, stderr.String(), err
		}
		return nil, stderr.String(), err
	}

	if _, _, err := call(t, "2022-06-06", false); !errors.Is(err, taskio.ErrNothingToDo) {
		t.Fatalf("no champion: err %v, want nothing to do (exit 99)", err)
	}
	empty := config{lake: t.TempDir(), day: "2022-06-06", version: -1, name: name, th: drift.DefaultThresholds(), getenv: func(string) string { return "" }}
	if err := run(ctx, empty, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, taskio.ErrNothingToDo) {
		t.Fatalf("lake without flow_features: err %v, want nothing to do (exit 99)", err)
	}

	// Register a model whose bundle holds the reference of 06-01..06-04.
	reg := registerChampion(t, tr, name, referenceOf(t, lake, "2022-06-01", "2022-06-04"))

	res, log, err := call(t, "2022-06-05", false)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if res.Model != name || res.ModelVersion != reg.Version || res.Predictions || len(res.Unavailable) != 3 || res.Flows == 0 {
		t.Errorf("day without predictions: %+v", res)
	}
	if res.Retrain {
		t.Errorf("quiet day 2022-06-05: retrain %v", res.Reasons)
	}

	n := writePredictions(t, lake, "2022-06-06")
	res, log, err = call(t, "2022-06-06", false)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	t.Logf("2022-06-06: %s", log)
	if !res.Predictions || res.UnknownShare == nil || res.Accuracy == nil || res.Flows != int64(n) {
		t.Fatalf("day with %d predictions: %+v", n, res)
	}
	if u := *res.UnknownShare; u < 0.04 || u > 0.06 {
		t.Errorf("unknown share %.3f, want 0.05", u)
	}
	if a := *res.Accuracy; a < 0.85 || a > 0.92 {
		t.Errorf("accuracy %.3f, want ≈ 0.89 (9 in 10 right among accepted flows of the classes)", a)
	}
	var tinder *drift.Alert
	for i, a := range res.Alerts {
		if a.Kind == drift.KindNewService && strings.Contains(a.Subject, "gotinder.com") {
			tinder = &res.Alerts[i]
		}
	}
	if tinder == nil || tinder.FirstDay != "2022-06-06" || !res.Drift || !res.Retrain {
		t.Errorf("tinder appearing on 2022-06-06: alerts %+v, drift %v, retrain %v", res.Alerts, res.Drift, res.Retrain)
	}
	if len(res.NewServices) == 0 || res.NewServices[0].Category != "Social" {
		t.Errorf("new services %+v: want gotinder.com first, likeliest category Social", res.NewServices)
	}

	// Checked already: nothing to do; --force checks again, in place.
	if _, _, err := call(t, "2022-06-06", false); !errors.Is(err, taskio.ErrNothingToDo) {
		t.Errorf("second check of 2022-06-06: err %v, want nothing to do", err)
	}
	if _, log, err := call(t, "2022-06-06", true); err != nil {
		t.Fatalf("forced: %v\n%s", err, log)
	}
	if _, _, err := call(t, "2022-06-20", false); !errors.Is(err, taskio.ErrNothingToDo) {
		t.Errorf("day without data: err %v, want nothing to do", err)
	}

	metrics := readTable[tablerow.DriftMetric](t, drift.MetricsTable.URI(lake))
	per := map[string]int{}
	alerts := 0
	for _, m := range metrics {
		per[m.RunDate]++
		if m.Alert {
			alerts++
		}
	}
	if len(per) != 2 || per["2022-06-05"] == 0 || per["2022-06-06"] == 0 || alerts == 0 {
		t.Errorf("drift_metrics rows per day %v (%d alerts): want both days once", per, alerts)
	}
	states := readTable[tablerow.DriftState](t, drift.StateTable.URI(lake))
	if len(states) != 2 {
		t.Errorf("drift_state has %d rows, want one per day checked (2)", len(states))
	}
	for _, s := range states {
		var st drift.State
		if err := json.Unmarshal([]byte(s.State), &st); err != nil || st.Day != s.Day || s.Reference != name+"@"+reg.Version {
			t.Errorf("state row %s/%s: day %q, err %v", s.Day, s.Reference, st.Day, err)
		}
	}
}
