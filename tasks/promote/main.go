// Command promote moves a registered model's champion alias to its challenger
// when the challenger beats the champion on the same later time window and
// passes the guard rails; the work is done by tasks/internal/tracking. It
// exits 99 (nothing to do) when there is no challenger to decide on.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type config struct {
	mlflow  tracking.Config // from MLFLOW_TRACKING_URI and MLflow's auth variables
	promote tracking.PromoteOptions
	xcom    string // result file for Airflow, or ""
}

func main() {
	var cfg config
	ctx := taskio.Parse(&cfg.xcom, &cfg.promote)
	var err error
	if cfg.mlflow, err = tracking.ConfigFromEnv(os.Getenv); err == nil {
		err = run(ctx, cfg, os.Stdout, os.Stderr)
	}
	taskio.Exit("promote", err)
}

// run decides, prints the decision with both scores to stderr and the
// Decision as the JSON result (also when there is nothing to do, so callers
// learn the champion_version).
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	c, err := cfg.mlflow.Client()
	if err != nil {
		return err
	}
	d, err := tracking.Promote(ctx, c, cfg.promote)
	idle := errors.Is(err, tracking.ErrNoChallenger) || errors.Is(err, tracking.ErrAlreadyDecided)
	if err != nil && !idle {
		return err
	}
	fmt.Fprintf(stderr, "promote: %s\npromote: %s\n", d, tracking.ModelURL(c.BaseURL(), d.Name))
	if err := taskio.WriteResult(stdout, cfg.xcom, d); err != nil {
		return err
	}
	if idle {
		return fmt.Errorf("%w: %v", taskio.ErrNothingToDo, err)
	}
	return nil
}
