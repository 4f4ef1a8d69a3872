package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
	"github.com/telcotraffic/telcotraffic/tasks/taskio/taskiotest"
)

// TestRun registers a logged bundle on a real MLflow server through the
// task's run function: the JSON result, the reuse on a retry, the result
// file for Airflow and the errors for runs without a model.
func TestRun(t *testing.T) {
	mlflow, tr := trackingtest.Tracker(t, "register-test")
	ctx := context.Background()
	trun, err := tr.StartRun(ctx, "", "train-1", tracking.RunTags{Kind: tracking.Forecaster, Tables: map[string]int64{"traffic_hourly": 5}})
	if err != nil {
		t.Fatal(err)
	}
	bundle := t.TempDir()
	if err := os.WriteFile(filepath.Join(bundle, "manifest.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := trun.LogBundle(ctx, bundle, tracking.ModelSpec{Kind: tracking.Forecaster, Format: "telcotraffic.forecaster/1"}); err != nil {
		t.Fatal(err)
	}
	if err := trun.LogEvaluation(ctx, tracking.Evaluation{Window: "2022-W13", Scores: map[string]float64{"mase": 0.82, "coverage_80": 0.79}}); err != nil {
		t.Fatal(err)
	}
	if err := trun.End(ctx, mlflowclient.RunFinished); err != nil {
		t.Fatal(err)
	}

	call := func(t *testing.T, opts tracking.RegisterOptions, xcom string) (tracking.Registered, string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := run(ctx, config{mlflow: mlflow, reg: opts, xcom: xcom}, &stdout, &stderr)
		var res tracking.Registered
		if err == nil {
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil {
				t.Fatalf("last stdout line %q: %v", lines[len(lines)-1], jerr)
			}
		}
		return res, stderr.String(), err
	}

	xcom := filepath.Join(t.TempDir(), "airflow", "xcom", "return.json")
	res, stderr, err := call(t, tracking.RegisterOptions{Name: "telco-forecaster", RunID: trun.ID, Tags: map[string]string{"reason": "drift"}}, xcom)
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "telco-forecaster" || res.Version != "1" || res.Reused || res.Alias != "challenger" || res.Tags["reason"] != "drift" ||
		res.Tags["mase"] != "0.82" || res.Tags["telcotraffic.table.traffic_hourly.version"] != "5" || res.Tags["telcotraffic.kind"] != "forecaster" {
		t.Errorf("result = %+v", res)
	}
	if !strings.Contains(stderr, "#/models/telco-forecaster/versions/1") {
		t.Errorf("stderr does not point at the UI: %q", stderr)
	}
	b, err := os.ReadFile(xcom)
	if err != nil || !strings.Contains(string(b), `"version":"1"`) {
		t.Errorf("xcom file = %q, %v", b, err)
	}

	res, _, err = call(t, tracking.RegisterOptions{Name: "telco-forecaster", RunID: trun.ID}, "")
	if err != nil || res.Version != "1" || !res.Reused {
		t.Errorf("retry = %+v, %v; want version 1 reused", res, err)
	}

	for _, tt := range []struct {
		name string
		opts tracking.RegisterOptions
		msg  string
	}{
		{"no model there", tracking.RegisterOptions{Name: "telco-forecaster", RunID: trun.ID, ArtifactPath: "elsewhere"}, "no model at elsewhere/"},
		{"missing run", tracking.RegisterOptions{Name: "telco-forecaster", RunID: "0123456789abcdef0123456789abcdef"}, "not found"},
		{"no name", tracking.RegisterOptions{RunID: trun.ID}, "required"},
		{"reserved tag", tracking.RegisterOptions{Name: "telco-forecaster", RunID: trun.ID, Tags: map[string]string{"telcotraffic.kind": "x"}}, "reserved"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := call(t, tt.opts, ""); err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.msg)
			}
		})
	}
}

// Task binaries must stay small: no Beam SDK (README, Architecture), and the
// registry tasks need no libxgboost either.
func TestDependencies(t *testing.T) {
	taskiotest.CheckLinks(t, "github.com/telcotraffic/telcotraffic/tasks/internal/tracking", "github.com/apache/beam", "github.com/telcotraffic/telcotraffic/tasks/internal/xgb")
}
