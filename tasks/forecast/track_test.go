package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/forecast"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking/trackingtest"
)

// fixtureLake writes a traffic_hourly table aggregated from a small
// generated dataset (two commits, so the version read is not 0) and returns
// the lake root.
func fixtureLake(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	raw, lake := generatedRaw(t), filepath.Join(t.TempDir(), "lake")
	rows, err := forecast.RawSource{Root: raw}.TrafficHourly(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(ctx, filepath.Join(lake, forecast.HourlyTable), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tab, err := lakehouse.OpenOrCreate[tablerow.TrafficHourly](ctx, st, lakehouse.CreateOptions{Name: forecast.HourlyTable}, lakehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	half := len(rows) / 2
	for _, part := range [][]tablerow.TrafficHourly{rows[:half], rows[half:]} {
		if _, err := lakehouse.Append(ctx, tab, part, nil); err != nil {
			t.Fatal(err)
		}
	}
	return lake
}

// TestRunLogsToMLflow runs the task on a fixture lake with --experiment
// against a real mlflow server and checks the run: named after the run
// date, FINISHED, with the JSON result's scores as metrics, the table
// versions as tags, the settings as params and the files as artifacts.
func TestRunLogsToMLflow(t *testing.T) {
	ctx := t.Context()
	const experiment = "telco-traffic-forecast"
	mlcfg, tr := trackingtest.Tracker(t, "")
	lake := fixtureLake(t)
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	cfg, err := parseFlags(fs, []string{"--lake", lake, "--backtest-weeks", "1",
		"--metrics", "flows", "--max-apps", "3", "--experiment", experiment})
	if err != nil {
		t.Fatal(err)
	}
	cfg.mlflow = mlcfg
	var stdout, stderr bytes.Buffer
	if err := run(ctx, cfg, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := []byte(lines[len(lines)-1])
	var res result
	var raw map[string]any
	if err := json.Unmarshal(last, &res); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(last, &raw); err != nil {
		t.Fatal(err)
	}
	if res.MLflowRunID == "" || !strings.Contains(res.MLflowRunURL, "/#/experiments/") || !strings.HasSuffix(res.MLflowRunURL, res.MLflowRunID) {
		t.Fatalf("result has no MLflow run: id %q, url %q", res.MLflowRunID, res.MLflowRunURL)
	}
	if res.HourlyVersion == nil || *res.HourlyVersion != 2 || res.ForecastsVersion == nil {
		t.Fatalf("result versions: traffic_hourly %v, forecasts %v; want 2 and one", res.HourlyVersion, res.ForecastsVersion)
	}

	r, err := tr.Client.Runs.Get(ctx, res.MLflowRunID)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := tr.Client.Experiments.Get(ctx, r.Info.ExperimentID)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Name != experiment {
		t.Errorf("run in experiment %q, want %q", exp.Name, experiment)
	}
	if want := "forecast-" + res.RunDate; r.Info.RunName != want || r.Info.Status != mlflowclient.RunFinished {
		t.Errorf("run %q status %s, want %q FINISHED", r.Info.RunName, r.Info.Status, want)
	}
	wantTags := map[string]string{
		"mlflow.runName":                    "forecast-" + res.RunDate,
		tracking.TagKind:                    string(tracking.Forecaster),
		"mlflow.source.type":                "JOB",
		tracking.TableTag("traffic_hourly"): strconv.FormatInt(*res.HourlyVersion, 10),
		tracking.OutputTag("forecasts"):     strconv.FormatInt(*res.ForecastsVersion, 10),
		tagRunDate:                          res.RunDate,
	}
	for k, want := range wantTags {
		if got, _ := r.Data.Tag(k); got != want {
			t.Errorf("tag %s = %q, want %q", k, got, want)
		}
	}
	if src, _ := r.Data.Tag("mlflow.source.name"); !strings.Contains(src, "tasks/forecast") {
		t.Errorf("mlflow.source.name %q, want the task's package", src)
	}
	for k, want := range map[string]string{"horizon_hours": "24", "backtest_weeks": "1", "max_apps": "3",
		"metrics": "flows", "model": "xgb", "series": strconv.Itoa(res.Series)} {
		if got, _ := r.Data.Param(k); got != want {
			t.Errorf("param %s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"mase", "mase_snaive168", "coverage_80", "coverage_95", "peak_capture", "peak_event_recall", "peak_event_precision", "smape", "forecast_rows", "alerts"} {
		want, ok := raw[k].(float64)
		if !ok {
			t.Errorf("result %s = %v, want a number", k, raw[k])
			continue
		}
		if got, ok := r.Data.Metric(k); !ok || got != want {
			t.Errorf("metric %s = %v (%v), want the result's %v", k, got, ok, want)
		}
	}
	if _, ok := r.Data.Metric("backtest/snaive168/all/mase"); !ok {
		t.Error("no metric backtest/snaive168/all/mase")
	}
	files, err := tr.Client.Artifacts.List(ctx, r.Info.ArtifactURI, artifactDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f.Path))
	}
	for _, want := range []string{"result.json", "forecasts.csv", "backtest.json", "alerts.json"} {
		if !slices.Contains(names, want) {
			t.Errorf("artifacts %s/ %v lack %s", artifactDir, names, want)
		}
	}
	var logged bytes.Buffer
	if _, err := tr.Client.Artifacts.Download(ctx, r.Info.ArtifactURI, artifactDir+"/result.json", &logged); err != nil {
		t.Fatal(err)
	}
	var lr result
	if err := json.Unmarshal(logged.Bytes(), &lr); err != nil || lr.MLflowRunID != res.MLflowRunID || lr.MASE == nil || *lr.MASE != *res.MASE {
		t.Errorf("artifact result.json %s (%v), want the task's result", logged.String(), err)
	}
}
