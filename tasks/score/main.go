// Command score applies the champion classifier, resolved through the MLflow
// registry (models:/<name>@champion), to every flow of flow_features for a
// day or a range of days and writes the flow_predictions and app_usage_daily
// Delta tables; the work is done by tasks/internal/serve. It exits 99
// (nothing to do) when the days were scored from the same flow_features
// version by the same model version, unless --force.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/serve"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type modelFlags struct{ name, alias string }

func (f *modelFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "name", serve.DefaultModelName, "registered model")
	fs.StringVar(&f.alias, "alias", tracking.AliasChampion, "alias of the version that scores")
}

type config struct {
	mlflow tracking.Config // from MLFLOW_TRACKING_URI and MLflow's auth variables
	score  serve.Flags
	model  modelFlags
	xcom   string // result file for Airflow, or ""
}

func main() {
	var cfg config
	scoreFlags(flag.CommandLine, &cfg.score)
	ctx := taskio.Parse(&cfg.xcom, &cfg.model)
	cfg.score.Store = storage.Options{S3: storage.FromEnv(os.Getenv)}
	var err error
	if cfg.mlflow, err = tracking.ConfigFromEnv(os.Getenv); err == nil {
		err = run(ctx, cfg, os.Stdout, os.Stderr)
	}
	taskio.Exit("score", err)
}

// run scores and prints the serve.Result (also when there was nothing to
// do, so callers learn the table versions).
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	sc, err := cfg.score.Resolve()
	if err != nil {
		return err
	}
	c, err := cfg.mlflow.Client()
	if err != nil {
		return err
	}
	m, err := serve.LoadModel(ctx, c, cfg.model.name, cfg.model.alias)
	if errors.Is(err, mlflowclient.ErrNotFound) {
		// A new deployment scores nothing until the first champion.
		return fmt.Errorf("%w: no models:/%s@%s yet (%v)", taskio.ErrNothingToDo, cfg.model.name, cfg.model.alias, err)
	}
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Fprintf(stderr, "score: models:/%s@%s is version %s\n", cfg.model.name, cfg.model.alias, m.Version)
	res, err := serve.Score(ctx, sc, m, stderr)
	idle := errors.Is(err, serve.ErrNothingToDo)
	if err != nil && !idle {
		return err
	}
	if err := taskio.WriteResult(stdout, cfg.xcom, res); err != nil {
		return err
	}
	if idle {
		return fmt.Errorf("%w: %v", taskio.ErrNothingToDo, err)
	}
	return nil
}

// scoreFlags binds the flags.
func scoreFlags(fs *flag.FlagSet, f *serve.Flags) {
	fs.StringVar(&f.Lake, "lake", "", "lake root (local or s3://): reads "+classify.FeaturesTable+", writes "+serve.PredictionsTable+" and "+serve.UsageTable+" (required)")
	fs.Int64Var(&f.Version, "version", -1, classify.FeaturesTable+" Delta version to read (-1: the latest)")
	fs.StringVar(&f.Day, "day", "", "day to score, YYYY-MM-DD (or --from/--to)")
	fs.StringVar(&f.FromDay, "from", "", "first day to score, YYYY-MM-DD")
	fs.StringVar(&f.ToDay, "to", "", "last day to score, YYYY-MM-DD")
	fs.IntVar(&f.BatchRows, "batch-rows", 8192, "flows predicted per call")
	fs.IntVar(&f.Threads, "threads", 0, "cores per prediction call (0: all)")
	fs.BoolVar(&f.Force, "force", false, "score again even when these days were scored from the same inputs (else: nothing to do, exit 99)")
}
