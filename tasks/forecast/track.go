package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/forecast"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// With --experiment the task logs one MLflow run per forecast, with the
// conventions of tasks/internal/tracking: run forecast-<run date> of kind
// forecaster, the model settings as params, the backtest scores as metrics
// (the same values as the JSON result), the traffic_hourly version read and
// the forecasts version written as tags, and the files of --out (forecasts,
// alerts, backtest) with the JSON result as artifacts under forecast/.

// Tags of a forecast run besides the tracking layer's.
const (
	tagRunDate = "telcotraffic.forecast.run_date"
	tagOrigin  = "telcotraffic.forecast.origin"
	// tagSettingsFrom says whose settings a --model-name run used:
	// "<model> version <n>" or "defaults".
	tagSettingsFrom = "telcotraffic.forecast.settings_from"
	// bundleFormat is the layout of the forecaster bundle: settings.json,
	// the run's params (the model is trained afresh on each run's data).
	bundleFormat = "telcotraffic.forecaster-settings/1"
	// artifactDir is the run's artifact folder for the task's files.
	artifactDir = "forecast"
)

// tracked is a forecast run being logged to MLflow.
type tracked struct {
	tr       *tracking.Tracker
	run      *tracking.Run
	params   map[string]string // the settings logged, also the bundle's settings.json
	window   string            // the evaluation window logged ("": no backtest)
	evalOnly bool              // no bundle: the run scores the champion's settings
}

// startTracking starts the run before the forecast, so a failure shows as a
// FAILED run; nil without --experiment. End it with tracked.end.
func startTracking(ctx context.Context, cfg config, stderr io.Writer) (*tracked, error) {
	if cfg.experiment == "" {
		return nil, nil
	}
	tr, err := tracking.New(cfg.mlflow)
	if err != nil {
		return nil, err
	}
	run, err := tr.StartRun(ctx, cfg.experiment, runName(cfg.runDate), tracking.RunTags{Kind: tracking.Forecaster})
	if err != nil {
		return nil, err
	}
	t := &tracked{tr: tr, run: run, params: trackParams(cfg), evalOnly: cfg.evalOnly}
	if err := run.LogParams(ctx, t.params); err != nil {
		return t, err
	}
	if cfg.settingsFrom != "" {
		if err := run.SetTags(ctx, map[string]string{tagSettingsFrom: cfg.settingsFrom}); err != nil {
			return t, err
		}
	}
	fmt.Fprintf(stderr, "forecast: logging to MLflow run %s\n", run.URL())
	return t, nil
}

func runName(runDate string) string {
	if runDate == "" {
		return "forecast"
	}
	return "forecast-" + runDate
}

// trackParams are the settings of the run: the horizon, the backtest, the
// panel and the main model's hyperparameters.
func trackParams(cfg config) map[string]string {
	m := cfg.fc.Model
	if m == nil {
		m = forecast.DefaultXGBoost(cfg.fc.Threads)
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	i := strconv.Itoa
	p := map[string]string{
		"horizon_hours":      i(forecast.Horizon),
		"backtest_weeks":     i(cfg.weeks),
		"retrain_days":       i(cfg.fc.Backtest.RetrainDays),
		"metrics":            strings.Join(cfg.fc.Panel.Metrics, ","),
		"min_category_share": f(cfg.fc.Panel.MinCategoryShare),
		"min_app_share":      f(cfg.fc.Panel.MinAppShare),
		"max_apps":           i(cfg.fc.Panel.MaxApps),
		"cal_days":           i(cfg.fc.CalDays),
		"refit":              strconv.FormatBool(cfg.fc.Refit),
		"headroom":           f(cfg.fc.Headroom),
		"tz":                 cfg.tz,
		"model":              m.Name(),
		"rounds":             i(m.Rounds),
		"window_days":        i(m.WindowDays),
		"stride":             i(m.Stride),
		"eta":                f(m.Params.Eta),
		"max_depth":          i(m.Params.MaxDepth),
		"min_child_weight":   f(m.Params.MinChildWeight),
		"subsample":          f(m.Params.Subsample),
		"colsample_bytree":   f(m.Params.ColsampleByTree),
		"max_bin":            i(m.Params.MaxBin),
		"threads":            i(cfg.fc.Threads),
	}
	if cfg.holidays != "" {
		p["holidays"] = cfg.holidays
	}
	if len(cfg.fc.Thresholds) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(cfg.fc.Thresholds)) {
			kv = append(kv, k+"="+f(cfg.fc.Thresholds[k]))
		}
		p["thresholds"] = strings.Join(kv, ",")
	}
	return p
}

// log records the outcome of the forecast and fills the run's id and page
// into out (before out is logged as the artifact forecast/result.json).
func (t *tracked) log(ctx context.Context, res *forecast.Result, out *result) error {
	run := t.run
	if name := runName(res.RunDate); name != run.Name {
		if _, err := t.tr.Client.Runs.Update(ctx, run.ID, mlflowclient.RunUpdate{RunName: name}); err != nil {
			return fmt.Errorf("tracking: run %s: rename to %s: %w", run.ID, name, err)
		}
		run.Name = name
	}
	out.MLflowRunID, out.MLflowRunURL = run.ID, run.URL()
	if err := run.LogParams(ctx, map[string]string{"series": strconv.Itoa(out.Series)}); err != nil {
		return err
	}
	tags := map[string]string{tagRunDate: res.RunDate, tagOrigin: out.Origin}
	if out.HourlyVersion != nil {
		tags[tracking.TableTag(forecast.HourlyTable)] = strconv.FormatInt(*out.HourlyVersion, 10)
	}
	if out.ForecastsVersion != nil {
		tags[tracking.OutputTag(forecast.ForecastsTable)] = strconv.FormatInt(*out.ForecastsVersion, 10)
	}
	if w := evalWindow(res.Backtest); w != "" {
		t.window = w
		// promote compares forecasters on the same backtest days only.
		tags[tracking.TagEvalWindow] = w
	}
	if err := run.SetTags(ctx, tags); err != nil {
		return err
	}
	if err := run.LogMetrics(ctx, 0, resultMetrics(out)); err != nil {
		return err
	}
	if bt := res.Backtest; bt != nil {
		// Every model's scores per group, charted side by side in the UI
		// (section backtest/).
		m := map[string]float64{}
		for _, mr := range bt.Models {
			for g, s := range mr.Groups {
				for k, v := range map[string]float64{"mase": s.MASE, "smape": s.SMAPE, "mape": s.MAPE,
					"coverage_80": s.Coverage80, "coverage_95": s.Coverage95, "peak_capture": s.PeakCapture} {
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						m[tracking.MetricKey("backtest/"+mr.Model+"/"+g+"/"+k)] = v
					}
				}
			}
		}
		if err := run.LogMetrics(ctx, 0, m); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "forecast-mlflow-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := res.WriteFiles(dir); err != nil {
		return err
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "result.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if _, err = run.LogArtifacts(ctx, dir, artifactDir); err != nil {
		return err
	}
	if t.evalOnly {
		return nil
	}
	return t.logBundle(ctx, out)
}

// evalWindow names the backtest's days, first..last origin ("": no backtest).
func evalWindow(bt *forecast.BacktestReport) string {
	if bt == nil || len(bt.Origins) == 0 {
		return ""
	}
	return "backtest " + bt.Origins[0].Format(time.DateOnly) + ".." + bt.Origins[len(bt.Origins)-1].Format(time.DateOnly)
}

// logBundle logs the forecaster bundle, settings.json with the run's
// settings, as the run's model (artifact model/), which register makes a
// model version.
func (t *tracked) logBundle(ctx context.Context, out *result) error {
	dir, err := os.MkdirTemp("", "forecast-bundle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := json.MarshalIndent(t.params, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "settings.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	spec := tracking.ModelSpec{Kind: tracking.Forecaster, Format: bundleFormat, Members: []string{"settings.json"}}
	if out.HourlyVersion != nil {
		spec.Tables = map[string]int64{forecast.HourlyTable: *out.HourlyVersion}
	}
	_, err = t.run.LogBundle(ctx, dir, spec)
	return err
}

// resultMetrics are the scores and counts of the JSON result, under the
// same keys and with the same values.
func resultMetrics(out *result) map[string]float64 {
	m := map[string]float64{
		"forecast_rows":              float64(out.ForecastRows),
		"alerts":                     float64(out.Alerts),
		"backtest_origins":           float64(out.BacktestOrigins),
		"backtest_seconds":           out.BacktestSeconds,
		"backtest_seconds_snaive168": out.BacktestSnaive,
	}
	for k, v := range map[string]*float64{
		"mase": out.MASE, "mase_snaive168": out.MASESnaive168, "mase_snaive24": out.MASESnaive24,
		"smape": out.SMAPE, "mape": out.MAPE, "coverage_80": out.Coverage80, "coverage_95": out.Coverage95,
		"peak_capture": out.PeakCapture, "peak_hour": out.PeakHour, "peak_volume": out.PeakVolume,
		"peak_capture_snaive168": out.PeakSnaive168,
		"peak_event_recall":      out.PeakEventRecall, "peak_event_precision": out.PeakEventPrecision,
		"peak_event_recall_snaive168": out.PeakEventRecallSnaive168, "peak_event_precision_snaive168": out.PeakEventPrecisionSnaive168,
	} {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}

// end ends the run according to the task's outcome (see tracking.Run.EndWith).
func (t *tracked) end(ctx context.Context, err error) error {
	if t == nil {
		return err
	}
	return t.run.EndWith(context.WithoutCancel(ctx), err)
}
