// Command evaluate scores classifier bundles on the weeks after their
// validation window and writes the report (JSON, text, confusion CSVs).
package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type config struct {
	data classify.SourceFlags
	eval classify.EvalConfig
	xcom string // result file for Airflow, or ""
}

func main() {
	var cfg config
	ctx := taskio.Parse(&cfg.xcom, &cfg.data, &cfg.eval)
	cfg.data.Store = storage.Options{S3: storage.FromEnv(os.Getenv)}
	taskio.Exit("evaluate", run(ctx, cfg, os.Stdout, os.Stderr))
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if len(cfg.eval.Models) == 0 || cfg.eval.Out == "" {
		return errors.New("--model and --out are required")
	}
	cfg.eval.Store = cfg.data.Store // one S3 configuration for the lake and the artifacts
	src, err := cfg.data.Open(ctx)
	if err != nil {
		return err
	}
	rep, err := classify.Evaluate(ctx, src, cfg.eval, stderr)
	if err != nil {
		return err
	}
	if err := rep.WriteText(stderr); err != nil {
		return err
	}
	return taskio.WriteResult(stdout, cfg.xcom, rep.Result(cfg.eval.Out))
}
