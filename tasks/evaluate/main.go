// Command evaluate scores classifier bundles on the weeks after their
// validation window and writes the report (JSON, text, confusion CSVs).
package main

import (
	"context"
	"errors"
	"flag"
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
	sourceFlags(flag.CommandLine, &cfg.data)
	evalFlags(flag.CommandLine, &cfg.eval)
	ctx := taskio.Parse(&cfg.xcom)
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

// evalFlags binds the evaluate task's flags other than the data flags,
// with classify.DefaultEvalConfig's values as defaults (it resets c to them).
func evalFlags(fs *flag.FlagSet, c *classify.EvalConfig) {
	*c = classify.DefaultEvalConfig()
	fs.Func("model", "bundle folder, or a root with one bundle per feature set (repeatable)", func(s string) error {
		c.Models = append(c.Models, s)
		return nil
	})
	fs.StringVar(&c.Out, "out", "", "report folder (required)")
	fs.IntVar(&c.TestWeeks, "test-weeks", c.TestWeeks, "weeks after the validation window to score (0: all)")
	fs.IntVar(&c.MaxRowsPerWeek, "max-rows-per-week", c.MaxRowsPerWeek, "flows sampled per test week")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "sampling seed")
}

// sourceFlags binds --raw, --lake and --version.
func sourceFlags(fs *flag.FlagSet, f *classify.SourceFlags) {
	fs.StringVar(&f.Raw, "raw", "", "raw dataset root (flow_features computed from it)")
	fs.StringVar(&f.Lake, "lake", "", "lake root with the "+classify.FeaturesTable+" table (or the table URI itself)")
	fs.Int64Var(&f.Version, "version", -1, classify.FeaturesTable+" Delta version to read (with --lake; -1: the latest)")
}
