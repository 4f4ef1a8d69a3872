package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/forecast"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type config struct {
	raw, lake string
	version   int64
	out       string
	xcom      string
	tz        string
	holidays  string
	runDate   string
	retrain   string
	weeks     int
	fc        forecast.Config
	// experiment is the MLflow experiment to log the run to ("": none);
	// mlflow is read from the environment when it is set.
	experiment string
	mlflow     tracking.Config
	// modelName is the registered forecaster whose champion's settings
	// the run starts from ("": none, see withChampion); settingsFrom
	// records where they came from.
	modelName, settingsFrom string
	// champion is the champion version whose settings were read and
	// championParams its run's params (nil: no champion).
	champion       string
	championParams map[string]string
	// evalOnly: the run only scores settings on the backtest (the
	// champion's, see rescoreChampion): no files, no forecasts written, no
	// bundle.
	evalOnly bool
}

func parseFlags(fs *flag.FlagSet, args []string) (config, error) {
	var c config
	var metrics, thresholds string
	fs.StringVar(&c.raw, "raw", "", "raw dataset root (flow files) to aggregate")
	fs.StringVar(&c.lake, "lake", "", "lake root with the traffic_hourly table (forecasts are written beside it)")
	fs.Int64Var(&c.version, "version", -1, "traffic_hourly Delta version to read (with --lake)")
	fs.StringVar(&c.out, "out", "", "output folder for forecasts, alerts and the backtest (required)")
	xcom := fs.Bool("xcom", false, "also write the result to "+taskio.XComPath)
	fs.StringVar(&c.runDate, "run-date", "", "local day to forecast, YYYY-MM-DD (default: the day after the data)")
	fs.IntVar(&c.weeks, "backtest-weeks", 4, "backtest: one origin per day over the last N weeks (0: skip)")
	fs.StringVar(&c.retrain, "retrain", "weekly", "backtest refit cadence: daily, weekly or a number of days")
	fs.StringVar(&c.tz, "tz", "Europe/Prague", "users' time zone for the calendar")
	fs.StringVar(&c.holidays, "holidays", "", "extra public holidays, comma-separated YYYY-MM-DD (Czech holidays are built in)")
	fs.StringVar(&metrics, "metrics", "bytes,flows", "measures to forecast")
	fs.Float64Var(&c.fc.Panel.MinCategoryShare, "min-category-share", 0.01, "forecast categories with at least this share of flows")
	fs.Float64Var(&c.fc.Panel.MinAppShare, "min-app-share", 0.02, "forecast apps with at least this share of flows")
	fs.IntVar(&c.fc.Panel.MaxApps, "max-apps", 20, "at most this many app series")
	fs.IntVar(&c.fc.Threads, "threads", 1, "XGBoost threads")
	fs.IntVar(&c.fc.CalDays, "cal-days", 14, "conformal calibration window in days")
	fs.BoolVar(&c.fc.Refit, "refit", true, "refit on all data after calibration (--refit=false: strictly split-conformal intervals)")
	fs.BoolVar(&c.fc.NoPeaks, "no-peaks", false, "leave the daily peak of the point forecast uncalibrated")
	fs.Float64Var(&c.fc.Headroom, "headroom", 1.5, "capacity = headroom × highest hour of the last 4 weeks, unless --threshold (0: none)")
	fs.StringVar(&c.experiment, "experiment", "", "MLflow experiment to log the run to (server from MLFLOW_TRACKING_URI; empty: no tracking)")
	fs.StringVar(&c.modelName, "model-name", "", "registered forecaster: start from its champion's settings (flags given override them; with --experiment)")
	fs.StringVar(&thresholds, "threshold", "", "capacities per hour, comma-separated series/metric=value (total/bytes=5e9)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *xcom {
		c.xcom = taskio.XComPath
	}
	if c.out == "" && c.lake == "" {
		return c, errors.New("--out is required without --lake")
	}
	if c.modelName != "" && c.experiment == "" {
		return c, errors.New("--model-name needs --experiment")
	}
	if (c.raw == "") == (c.lake == "") {
		return c, errors.New("give exactly one of --raw and --lake")
	}
	c.fc.Panel.Metrics = strings.Split(metrics, ",")
	switch c.retrain {
	case "daily":
		c.fc.Backtest.RetrainDays = 1
	case "weekly":
		c.fc.Backtest.RetrainDays = 7
	default:
		n, err := strconv.Atoi(c.retrain)
		if err != nil || n <= 0 {
			return c, fmt.Errorf("--retrain %q: want daily, weekly or a positive number of days", c.retrain)
		}
		c.fc.Backtest.RetrainDays = n
	}
	c.fc.Backtest.Weeks = c.weeks
	if c.weeks <= 0 {
		c.fc.Backtest.Weeks = -1
	}
	c.fc.Thresholds = map[string]float64{}
	for kv := range strings.SplitSeq(thresholds, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		x, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || x <= 0 {
			return c, fmt.Errorf("--threshold %q: want series/metric=positive number", kv)
		}
		c.fc.Thresholds[k] = x
	}
	return c, nil
}

// result is the task's one-line JSON result, exported by the forecast
// package for its consumers (the demo).
type result = forecast.TaskResult

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	t0 := time.Now()
	loc, err := time.LoadLocation(cfg.tz)
	if err != nil {
		return fmt.Errorf("--tz: %w", err)
	}
	tr, err := startTracking(ctx, cfg, stderr)
	defer func() { err = tr.end(ctx, err) }()
	if err != nil {
		return err
	}
	extra, err := forecast.ParseDates(cfg.holidays)
	if err != nil {
		return err
	}
	var src forecast.Source = forecast.RawSource{Root: cfg.raw, Progress: stderr}
	var lakeSrc *forecast.LakeSource
	if cfg.lake != "" {
		lakeSrc = &forecast.LakeSource{Lake: cfg.lake, Version: cfg.version, Store: storage.Options{S3: storage.FromEnv(os.Getenv)}}
		src = lakeSrc
	}
	years := []int{}
	for y := 2021; y <= time.Now().Year()+1; y++ {
		years = append(years, y)
	}
	cfg.fc.Calendar = forecast.CzechCalendar(loc, years, extra...)
	if cfg.runDate != "" {
		if cfg.fc.RunDate, err = time.ParseInLocation(time.DateOnly, cfg.runDate, loc); err != nil {
			return fmt.Errorf("--run-date: %w", err)
		}
	}
	cfg.fc.Progress = stderr
	res, err := forecast.Run(ctx, src, cfg.fc)
	if errors.Is(err, forecast.ErrTooLittleData) {
		return fmt.Errorf("%w: %v", taskio.ErrNothingToDo, err)
	}
	if err != nil {
		return err
	}
	if cfg.out != "" && !cfg.evalOnly {
		if err := res.WriteFiles(cfg.out); err != nil {
			return err
		}
	}
	var written int64 = -1
	if lakeSrc != nil && !cfg.evalOnly {
		if written, err = forecast.WriteForecasts(ctx, cfg.lake, storage.Options{S3: storage.FromEnv(os.Getenv)}, res.Forecasts); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "forecast: read %s@%d, wrote %s version %d\n", forecast.HourlyTable, lakeSrc.Resolved, forecast.ForecastsTable, written)
	}
	out := result{
		RunDate: res.RunDate, Origin: res.Origin.Format(time.RFC3339), Series: len(res.Panel.Series),
		Hours: res.Panel.Hours, ForecastRows: len(res.Forecasts), Alerts: len(res.Alerts), Out: cfg.out,
		SettingsFrom: cfg.settingsFrom,
	}
	if lakeSrc != nil {
		out.HourlyVersion = &lakeSrc.Resolved
		if !cfg.evalOnly {
			out.ForecastsVersion = &written
		}
	}
	if bt := res.Backtest; bt != nil {
		fmt.Fprintln(stderr, "forecast: backtest over", len(bt.Origins), "origins, refit every", bt.RetrainDays, "days")
		if err := forecast.WriteComparison(stderr, bt.Models...); err != nil {
			return err
		}
		out.BacktestOrigins, out.RetrainDays = len(bt.Origins), bt.RetrainDays
		if m := bt.Model("xgb"); m != nil {
			g := m.Groups["all"]
			out.MAPE = num(g.MAPE)
			out.MASE, out.SMAPE, out.Coverage80, out.Coverage95, out.PeakCapture = num(g.MASE), num(g.SMAPE), num(g.Coverage80), num(g.Coverage95), num(g.PeakCapture)
			out.PeakHour, out.PeakVolume = num(g.PeakHour), num(g.PeakVolume)
			out.PeakEventRecall, out.PeakEventPrecision = num(g.PeakEventRecall), num(g.PeakEventPrecision)
			out.BacktestSeconds = round(m.Seconds)
		}
		if m := bt.Model("snaive168"); m != nil {
			g := m.Groups["all"]
			out.MASESnaive168, out.PeakSnaive168 = num(g.MASE), num(g.PeakCapture)
			out.PeakEventRecallSnaive168, out.PeakEventPrecisionSnaive168 = num(g.PeakEventRecall), num(g.PeakEventPrecision)
			out.BacktestSnaive = round(m.Seconds)
		}
		if m := bt.Model("xgb" + forecast.NoPeaksSuffix); m != nil {
			out.MASENoPeaks, out.PeakNoPeaks = num(m.Groups["all"].MASE), num(m.Groups["all"].PeakCapture)
		}
		if m := bt.Model("snaive24"); m != nil {
			out.MASESnaive24 = num(m.Groups["all"].MASE)
		}
	}
	for _, a := range res.Alerts {
		fmt.Fprintf(stderr, "forecast: ALERT %s/%s: upper 95 %% %.4g ≥ capacity %.4g for %d h from %s\n",
			a.Series, a.Metric, a.MaxUpper, a.Threshold, a.Hours, a.First.Format(time.RFC3339))
	}
	out.Seconds = round(time.Since(t0).Seconds())
	fmt.Fprintf(stderr, "forecast: %d forecast rows for %s, %d series, %.1f s → %s\n", len(res.Forecasts), res.RunDate, len(res.Panel.Series), out.Seconds, cfg.out)
	if tr != nil {
		if err := tr.log(ctx, res, &out); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "forecast: logged MLflow run %s\n", out.MLflowRunURL)
		if err := tr.rescoreChampion(ctx, cfg, res.RunDate, out.HourlyVersion, stderr); err != nil {
			return err
		}
	}
	return taskio.WriteResult(stdout, cfg.xcom, out)
}

func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	v := math.Round(x*1000) / 1000
	return &v
}

func round(x float64) float64 { return math.Round(x*100) / 100 }
