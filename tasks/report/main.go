// Command report writes the operator's report: one self-contained HTML page
// (traffic, forecasts and capacity alerts, classifier scores, app usage,
// drift, model lineage) from the lake's tables at pinned versions and from
// MLflow, to --out on any storage URI; the work is done by
// tasks/internal/report.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

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
	ctx := taskio.Parse(&cfg.xcom, &cfg.rep)
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
