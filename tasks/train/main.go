// Command train fits the service classifier on the training and validation
// weeks of flow_features and writes one model bundle per feature set. It
// exits 99 (nothing to do) when --out already holds the bundles trained on
// the same data version, unless --force.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type config struct {
	data  classify.SourceFlags
	train classify.TrainConfig
	xcom  string // result file for Airflow, or ""
}

func main() {
	var cfg config
	ctx := taskio.Parse(&cfg.xcom, &cfg.data, &cfg.train)
	cfg.data.Store = storage.Options{S3: storage.FromEnv(os.Getenv)}
	taskio.Exit("train", run(ctx, cfg, os.Stdout, os.Stderr))
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	src, err := cfg.data.Open(ctx)
	if err != nil {
		return err
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
