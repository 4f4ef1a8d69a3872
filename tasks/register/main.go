// Command register makes the model bundle an MLflow run logged (train's or
// forecast's run, --run-id) a new version of a registered model, tagged
// with the run's scores, evaluation window and table versions, and points
// the challenger alias at it; the work is done by tasks/internal/tracking.
// It only registers: the producing tasks log their own runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type config struct {
	mlflow tracking.Config // from MLFLOW_TRACKING_URI and MLflow's auth variables
	reg    tracking.RegisterOptions
	xcom   string // result file for Airflow, or ""
}

func main() {
	var cfg config
	registerFlags(flag.CommandLine, &cfg.reg)
	ctx := taskio.Parse(&cfg.xcom)
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
	reg, err := tracking.Register(ctx, c, cfg.reg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "register: %s version %s from run %s (reused %v), alias %s, %d tags\nregister: %s\n", reg.Name, reg.Version,
		reg.RunID, reg.Reused, reg.Alias, len(reg.Tags), tracking.ModelVersionURL(c.BaseURL(), reg.Name, reg.Version))
	// A retry registers nothing new (Reused) and keeps exit 0, so that
	// the promote step after it still runs.
	return taskio.WriteResult(stdout, cfg.xcom, reg)
}

// registerFlags adds the register task's flags to fs.
func registerFlags(fs *flag.FlagSet, o *tracking.RegisterOptions) {
	fs.StringVar(&o.Name, "name", "", "registered model name (required)")
	fs.StringVar(&o.RunID, "run-id", "", "MLflow run whose model bundle to register (required)")
	fs.StringVar(&o.ArtifactPath, "artifact-path", tracking.BundleArtifactPath, "bundle directory in the run's artifacts")
	fs.StringVar(&o.Alias, "alias", tracking.AliasChallenger, "alias to point at the new version")
	fs.DurationVar(&o.Wait, "wait", 5*time.Minute, "how long to wait for the version to become READY")
	fs.StringVar(&o.Description, "description", "", "description of the registered model, if it is created")
	fs.Func("tag", "key=value tag set on the new version (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q: want key=value", s)
		}
		if o.Tags == nil {
			o.Tags = map[string]string{}
		}
		o.Tags[k] = v
		return nil
	})
	fs.Func("scores", "comma-separated run metrics copied to version tags besides "+strings.Join(tracking.HeadlineMetrics, ","), func(s string) error {
		for _, k := range strings.Split(s, ",") {
			if k = strings.TrimSpace(k); k != "" {
				o.Scores = append(o.Scores, k)
			}
		}
		return nil
	})
}
