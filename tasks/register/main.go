// Command register makes the model bundle an MLflow run logged a new version
// of a registered model, tagged with the run's scores and table versions, and
// points the challenger alias at it; the work is done by tasks/internal/tracking.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type config struct {
	mlflow tracking.Config // from MLFLOW_TRACKING_URI and MLflow's auth variables
	reg    tracking.RegisterOptions
	log    logFlags
	xcom   string // result file for Airflow, or ""
}

func main() {
	var cfg config
	ctx := taskio.Parse(&cfg.xcom, &cfg.reg, &cfg.log)
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
