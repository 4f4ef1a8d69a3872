// Command register makes the model bundle an MLflow run logged a new version
// of a registered model, tagged with the run's scores and table versions, and
// points the challenger alias at it; the work is done by tasks/internal/tracking.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/telcotraffic/telcotraffic/tasks/internal/taskio"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

type config struct {
	mlflow tracking.Config // from MLFLOW_TRACKING_URI and MLflow's auth variables
	reg    tracking.RegisterOptions
	log    logFlags
	xcom   string // result file for Airflow, or ""
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var cfg config
	var xcom bool
	cfg.reg.RegisterFlags(flag.CommandLine)
	flag.BoolVar(&xcom, "xcom", false, "also write the result to "+taskio.XComPath)
	flag.StringVar(&cfg.log.bundle, "bundle", "", "log this model bundle folder as a new run first (instead of --run-id)")
	flag.StringVar(&cfg.log.report, "report", "", "with --bundle: evaluate's report.json, logged with the run")
	flag.StringVar(&cfg.log.experiment, "experiment", "", "with --bundle: experiment name (default: MLFLOW_EXPERIMENT_NAME or telcotraffic)")
	flag.StringVar(&cfg.log.runName, "run-name", "", "with --bundle: run name (default: train-<test week>)")
	flag.StringVar(&cfg.log.kind, "kind", string(tracking.Classifier), "with --bundle: classifier or forecaster")
	flag.Parse()
	if xcom {
		cfg.xcom = taskio.XComPath
	}
	var err error
	if cfg.mlflow, err = tracking.ConfigFromEnv(os.Getenv); err == nil {
		err = run(ctx, cfg, os.Stdout, os.Stderr)
	}
	taskio.Exit("register", err)
}

// run registers and prints the tracking.Registered result.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	c, err := cfg.mlflow.Client()
	if err != nil {
		return err
	}
	if cfg.log.bundle != "" {
		if cfg.reg.RunID != "" || cfg.log.report == "" {
			return fmt.Errorf("register: --bundle needs --report and no --run-id")
		}
		if cfg.reg.RunID, err = logBundle(ctx, cfg, stderr); err != nil {
			return err
		}
	}
	reg, err := tracking.Register(ctx, c, cfg.reg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "register: %s version %s from run %s (reused %v), alias %s, %d tags\nregister: %s\n", reg.Name, reg.Version,
		reg.RunID, reg.Reused, reg.Alias, len(reg.Tags), tracking.ModelVersionURL(c.BaseURL(), reg.Name, reg.Version))
	return taskio.WriteResult(stdout, cfg.xcom, reg)
}
