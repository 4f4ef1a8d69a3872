// Command train fits the service classifier on the training and validation
// weeks of flow_features and writes one model bundle per feature set. It
// exits 99 (nothing to do) when --out already holds the bundles trained on
// the same data version, or when the newest version of --model-name in the
// MLflow registry learned from the flow_features version (and test window)
// this run would train on, unless --force.
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
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type registryFlags struct{ model string }

func (f *registryFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model-name", "", "registered model whose newest version's flow_features version (and window) this run must differ from (needs MLFLOW_TRACKING_URI; empty: only --out is checked)")
}

type config struct {
	data     classify.SourceFlags
	train    classify.TrainConfig
	registry registryFlags
	mlflow   func() (tracking.Config, error) // from the environment, read when --model-name is given
	xcom     string                          // result file for Airflow, or ""
}

func main() {
	var cfg config
	ctx := taskio.Parse(&cfg.xcom, &cfg.data, &cfg.train, &cfg.registry)
	cfg.data.Store = storage.Options{S3: storage.FromEnv(os.Getenv)}
	cfg.mlflow = func() (tracking.Config, error) { return tracking.ConfigFromEnv(os.Getenv) }
	taskio.Exit("train", run(ctx, cfg, os.Stdout, os.Stderr))
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	cfg.train.Store = cfg.data.Store // one S3 configuration for the lake and the artifacts
	src, err := cfg.data.Open(ctx)
	if err != nil {
		return err
	}
	if cfg.registry.model != "" && !cfg.train.Force {
		if cfg.train.Last, err = lastTraining(ctx, cfg); err != nil {
			return err
		}
	}
	res, err := classify.Train(ctx, src, cfg.train, stderr)
	if errors.Is(err, classify.ErrAlreadyTrained) {
		return fmt.Errorf("%w: %v", taskio.ErrNothingToDo, err)
	}
	if err != nil {
		return err
	}
	return taskio.WriteResult(stdout, cfg.xcom, res)
}

// lastTraining reads what the newest registered version learned from: its
// flow_features table tag and evaluation window; nil when there is none.
func lastTraining(ctx context.Context, cfg config) (*classify.LastTraining, error) {
	mc, err := cfg.mlflow()
	if err != nil {
		return nil, err
	}
	c, err := mc.Client()
	if err != nil {
		return nil, err
	}
	mv, err := tracking.LatestVersion(ctx, c, cfg.registry.model)
	if err != nil || mv == nil {
		return nil, err
	}
	tag, ok := mv.Tag(tracking.TableTag(classify.FeaturesTable))
	if !ok {
		return nil, nil
	}
	v, err := strconv.ParseInt(tag, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("train: %s version %s: tag %s=%q: %w", mv.Name, mv.Version, tracking.TableTag(classify.FeaturesTable), tag, err)
	}
	window, _ := mv.Tag(tracking.TagEvalWindow)
	return &classify.LastTraining{Model: mv.Name + " version " + mv.Version, Version: v, Window: window}, nil
}
