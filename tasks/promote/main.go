// Command promote moves a registered model's champion alias to its challenger
// when the challenger beats the champion on the same later time window and
// passes the guard rails; the work is done by tasks/internal/tracking. With
// --lake, a champion evaluated on another window is first scored again on
// the challenger's window (from its registered bundle and the lake, by
// tasks/internal/serve). It exits 99 (nothing to do) when there is no
// challenger to decide on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/serve"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

// rescoreFlags configure scoring the champion again.
type rescoreFlags struct {
	lake, experiment string
	maxRows          int
	seed             uint64
	store            storage.Options
}

func (f *rescoreFlags) RegisterFlags(fs *flag.FlagSet) {
	ev := classify.DefaultEvalConfig() // the challenger's evaluate samples so
	fs.StringVar(&f.lake, "lake", "", "lake root (local or s3://) to score the champion on the challenger's window when their windows differ (classifiers; empty: refuse the comparison)")
	fs.StringVar(&f.experiment, "experiment", "", "experiment of the champion's new evaluation run (default: MLFLOW_EXPERIMENT_NAME or telcotraffic)")
	fs.IntVar(&f.maxRows, "max-rows-per-week", ev.MaxRowsPerWeek, "with --lake: flows sampled per test week (as the challenger's evaluate)")
	fs.Uint64Var(&f.seed, "eval-seed", ev.Seed, "with --lake: sampling seed (as the challenger's evaluate)")
}

type config struct {
	mlflow  tracking.Config // from MLFLOW_TRACKING_URI and MLflow's auth variables
	promote tracking.PromoteOptions
	rescore rescoreFlags
	xcom    string // result file for Airflow, or ""
}

func main() {
	var cfg config
	promoteFlags(flag.CommandLine, &cfg.promote)
	ctx := taskio.Parse(&cfg.xcom, &cfg.rescore)
	cfg.rescore.store = storage.Options{S3: storage.FromEnv(os.Getenv)}
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
	tr, err := tracking.New(cfg.mlflow)
	if err != nil {
		return err
	}
	c := tr.Client
	if rf := cfg.rescore; rf.lake != "" {
		r := &serve.Rescorer{Tracker: tr, Lake: rf.lake, Store: rf.store, Experiment: rf.experiment,
			MaxRowsPerWeek: rf.maxRows, Seed: rf.seed, Progress: stderr}
		cfg.promote.Rescore = r.Rescore
	}
	d, err := tracking.Promote(ctx, c, cfg.promote)
	idle := errors.Is(err, tracking.ErrNoChallenger) || errors.Is(err, tracking.ErrAlreadyDecided) || errors.Is(err, tracking.ErrNotEvaluated)
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

// promoteFlags adds the promote task's flags to fs.
func promoteFlags(fs *flag.FlagSet, o *tracking.PromoteOptions) {
	fs.StringVar(&o.Name, "name", "", "registered model name (required)")
	fs.StringVar(&o.Metric, "metric", "", "score to compare: macro_f1_no_sni (classifiers; macro_f1 with SNI saturates near 1) or mase (forecasters) (required)")
	fs.BoolFunc("higher-is-better", "whether the metric improves upwards (default: inferred from its name; =false for downwards)", func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		o.HigherIsBetter = &v
		return nil
	})
	fs.Float64Var(&o.MinDelta, "min-delta", 0, "margin by which the challenger must beat the champion")
	fs.Float64Var(&o.RecallFloor, "recall-floor", tracking.DefaultRecallFloor, "per-class recall under which a class the champion recognised counts as collapsed; negative disables")
	fs.Float64Var(&o.LatencyBudget, "latency-budget-us", 0, "highest "+tracking.MetricLatency+" the challenger may have; 0: unchecked")
}
