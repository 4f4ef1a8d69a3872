package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// With --model-name the forecaster is a registered model like the
// classifier: the run logs its settings as the bundle (artifact model/,
// kind forecaster) and its backtest window as the evaluation window, so
// register makes it a version and promote compares versions on mase. A run
// starts from the settings of the model's champion version (its run's
// params), unless a flag sets them; without a champion it uses its own
// defaults.

// settingFlags maps the run params a champion passes on to the flags that
// set them. The model's hyperparameters have no flags (the defaults of
// forecast.DefaultXGBoost); threads is the machine's, not the model's.
var settingFlags = map[string]string{
	"backtest_weeks":     "backtest-weeks",
	"retrain_days":       "retrain",
	"metrics":            "metrics",
	"min_category_share": "min-category-share",
	"min_app_share":      "min-app-share",
	"max_apps":           "max-apps",
	"cal_days":           "cal-days",
	"refit":              "refit",
	"headroom":           "headroom",
	"tz":                 "tz",
	"holidays":           "holidays",
	"thresholds":         "threshold",
}

// settingsDefaults is the SettingsFrom of a run without a champion.
const settingsDefaults = "defaults"

// withChampion returns the config of args with the settings of the
// champion of cfg.modelName filled in for the flags args does not set, and
// records where they came from in cfg.settingsFrom. cfg is parsed from
// args; cfg.mlflow must be set.
func withChampion(ctx context.Context, cfg config, args []string, stderr io.Writer) (config, error) {
	c, err := cfg.mlflow.Client()
	if err != nil {
		return cfg, err
	}
	mv, err := tracking.ResolveAlias(ctx, c, cfg.modelName, tracking.AliasChampion)
	if errors.Is(err, mlflowclient.ErrNotFound) {
		fmt.Fprintf(stderr, "forecast: %s has no %s yet: default settings\n", cfg.modelName, tracking.AliasChampion)
		cfg.settingsFrom = settingsDefaults
		return cfg, nil
	}
	if err != nil {
		return cfg, err
	}
	if mv.RunID == "" {
		return cfg, fmt.Errorf("forecast: %s version %s has no run to read its settings from", cfg.modelName, mv.Version)
	}
	run, err := c.Runs.Get(ctx, mv.RunID)
	if err != nil {
		return cfg, fmt.Errorf("forecast: settings of %s version %s: run %s: %w", cfg.modelName, mv.Version, mv.RunID, err)
	}
	given := map[string]bool{}
	probe := flag.NewFlagSet("forecast", flag.ContinueOnError)
	probe.SetOutput(io.Discard)
	if _, err := parseFlags(probe, args); err != nil {
		return cfg, err
	}
	probe.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var extra []string
	for _, p := range slices.Sorted(maps.Keys(settingFlags)) {
		name := settingFlags[p]
		if v, ok := run.Data.Param(p); ok && !given[name] {
			extra = append(extra, "--"+name+"="+v)
		}
	}
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out, err := parseFlags(fs, append(extra, args...))
	if err != nil {
		return cfg, fmt.Errorf("forecast: settings of %s version %s (run %s): %w", cfg.modelName, mv.Version, mv.RunID, err)
	}
	out.mlflow = cfg.mlflow
	out.champion, out.championParams = mv.Version, map[string]string{}
	for _, p := range run.Data.Params {
		out.championParams[p.Key] = p.Value
	}
	out.settingsFrom = cfg.modelName + " version " + mv.Version
	fmt.Fprintf(stderr, "forecast: settings of %s %s (version %s): %v\n", cfg.modelName, tracking.AliasChampion, mv.Version, extra)
	return out, nil
}

// machineParams are run params that are not settings of the model.
var machineParams = []string{"threads", "series"}

// rescoreChampion makes the champion's evaluation one on this run's
// backtest window, so promote compares the champion with this run's
// version on the same days (each day's backtest covers other days). A run
// with exactly the champion's settings scored the champion itself: it
// becomes the champion version's evaluation (tracking.AttachEvaluation).
// Otherwise the champion's settings are backtested on the same data
// (traffic_hourly version, run date, backtest weeks) in a run of their own,
// attached instead.
func (t *tracked) rescoreChampion(ctx context.Context, cfg config, runDate string, hourly *int64, stderr io.Writer) error {
	if cfg.championParams == nil || t.window == "" || cfg.evalOnly {
		return nil
	}
	evalRun := t.run.ID
	for k := range joinKeys(t.params, cfg.championParams) {
		if slices.Contains(machineParams, k) || t.params[k] == cfg.championParams[k] {
			continue
		}
		fmt.Fprintf(stderr, "forecast: settings differ from %s version %s (%s %q, champion %q): scoring the champion's on the same backtest\n",
			cfg.modelName, cfg.champion, k, t.params[k], cfg.championParams[k])
		var err error
		if evalRun, err = scoreChampion(ctx, cfg, runDate, hourly, stderr); err != nil {
			return fmt.Errorf("forecast: score %s version %s on the backtest: %w", cfg.modelName, cfg.champion, err)
		}
		break
	}
	if err := tracking.AttachEvaluation(ctx, t.tr.Client, cfg.modelName, cfg.champion, evalRun); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "forecast: run %s is now the evaluation of %s version %s on %s\n", evalRun, cfg.modelName, cfg.champion, t.window)
	return nil
}

// scoreChampion backtests the champion's settings on the data of cfg's run
// in an evaluation-only run and returns its id.
func scoreChampion(ctx context.Context, cfg config, runDate string, hourly *int64, stderr io.Writer) (string, error) {
	var args []string
	for _, p := range slices.Sorted(maps.Keys(settingFlags)) {
		if v, ok := cfg.championParams[p]; ok && p != "backtest_weeks" {
			args = append(args, "--"+settingFlags[p]+"="+v)
		}
	}
	args = append(args, "--backtest-weeks="+strconv.Itoa(cfg.weeks), "--run-date="+runDate,
		"--threads="+strconv.Itoa(cfg.fc.Threads), "--experiment="+cfg.experiment)
	if cfg.lake != "" {
		args = append(args, "--lake="+cfg.lake)
		if hourly != nil {
			args = append(args, "--version="+strconv.FormatInt(*hourly, 10))
		}
	} else {
		args = append(args, "--raw="+cfg.raw, "--out="+cfg.out)
	}
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, err := parseFlags(fs, args)
	if err != nil {
		return "", err
	}
	c.mlflow, c.evalOnly = cfg.mlflow, true
	c.settingsFrom = cfg.modelName + " version " + cfg.champion + " (re-scored)"
	var out bytes.Buffer
	if err := run(ctx, c, &out, stderr); err != nil {
		return "", err
	}
	var res result
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &res); err != nil || res.MLflowRunID == "" {
		return "", fmt.Errorf("evaluation run: result %q: %v", out.String(), err)
	}
	return res.MLflowRunID, nil
}

func joinKeys(a, b map[string]string) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}
