// Command report writes the operator's report: one self-contained HTML page
// (traffic, forecasts and capacity alerts, classifier scores, app usage,
// drift, model lineage) from the lake's tables at pinned versions and from
// MLflow, to --out on any storage URI; the work is done by
// tasks/internal/report.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/report"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type config struct {
	rep  report.Config
	xcom string // result file for Airflow, or ""
}

func main() {
	var cfg config
	reportFlags(flag.CommandLine, &cfg.rep)
	ctx := taskio.Parse(&cfg.xcom)
	cfg.rep.Store = storage.Options{S3: storage.FromEnv(os.Getenv)}
	taskio.Exit("report", run(ctx, cfg, os.Getenv, os.Stdout, os.Stderr))
}

// run builds the page, writes it and prints the report.Result. MLflow is
// read when MLFLOW_TRACKING_URI is set; without it the MLflow sections say
// so.
func run(ctx context.Context, cfg config, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := cfg.rep.Validate(); err != nil {
		return err
	}
	if getenv("MLFLOW_TRACKING_URI") != "" {
		mc, err := tracking.ConfigFromEnv(getenv)
		if err != nil {
			return err
		}
		if cfg.rep.MLflow, err = mc.Client(); err != nil {
			return err
		}
	}
	cfg.rep.Progress = stderr
	data, err := report.Build(ctx, cfg.rep)
	if err != nil {
		return err
	}
	page, err := report.Render(data)
	if err != nil {
		return err
	}
	if err := report.Write(ctx, cfg.rep.Out, page, cfg.rep.Store); err != nil {
		return err
	}
	res := data.Result(cfg.rep.Out, len(page))
	fmt.Fprintf(stderr, "report: wrote %s (%d bytes); absent sections: %v\n", cfg.rep.Out, len(page), res.Absent)
	return taskio.WriteResult(stdout, cfg.xcom, res)
}

// reportFlags binds the report task's flags.
func reportFlags(fs *flag.FlagSet, c *report.Config) {
	fs.StringVar(&c.Lake, "lake", "", "lake root URI with traffic_hourly, forecasts, app_usage_daily and drift_metrics (required)")
	fs.StringVar(&c.Out, "out", "", "URI of the HTML file to write: a path, file:// or s3://bucket/key.html (required)")
	fs.Func("version", "pin a table's Delta version, table=N (repeatable; default: each table's latest)", func(s string) error {
		name, v, ok := strings.Cut(s, "=")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if !ok || err != nil || n < 0 || !slices.Contains(report.Tables, strings.TrimSpace(name)) {
			return fmt.Errorf("want table=N with a table of %v and N ≥ 0", report.Tables)
		}
		if c.Versions == nil {
			c.Versions = map[string]int64{}
		}
		c.Versions[strings.TrimSpace(name)] = n
		return nil
	})
	fs.StringVar(&c.Title, "title", "TelcoTraffic operator's report", "page title")
	fs.IntVar(&c.TopApps, "top-apps", 10, "apps shown by name in the traffic and usage charts")
	fs.IntVar(&c.Days, "days", 91, "traffic charts show the last N days of traffic_hourly (0: all)")
	fs.StringVar(&c.Model, "model-name", report.DefaultModel, "registered classifier model shown (MLflow)")
	fs.StringVar(&c.Alias, "alias", report.DefaultAlias, "alias of the classifier version shown (its latest version when unset)")
	fs.StringVar(&c.ForecastExperiment, "forecast-experiment", report.DefaultForecastExperiment, "MLflow experiment of the forecaster's runs")
}
