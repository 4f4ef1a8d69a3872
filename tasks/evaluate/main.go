// Command evaluate scores classifier bundles on the weeks after their
// validation window and writes the report (JSON, text, confusion CSVs);
// with --run-id it logs the evaluation (window tag, headline scores,
// per-class recall) and the report's files (artifacts evaluation/) to the
// MLflow run that train logged the bundles to, which register then makes
// a model version.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type config struct {
	data   classify.SourceFlags
	eval   classify.EvalConfig
	runID  string                          // MLflow run to log the evaluation to, or ""
	xcom   string                          // result file for Airflow, or ""
	mlflow func() (tracking.Config, error) // from the environment, read with --run-id
}

func main() {
	var cfg config
	sourceFlags(flag.CommandLine, &cfg.data)
	evalFlags(flag.CommandLine, &cfg.eval)
	flag.StringVar(&cfg.runID, "run-id", "", "log the evaluation and the report to this MLflow run (train's mlflow_run_id; needs MLFLOW_TRACKING_URI)")
	ctx := taskio.Parse(&cfg.xcom)
	cfg.data.Store = storage.Options{S3: storage.FromEnv(os.Getenv)}
	cfg.mlflow = func() (tracking.Config, error) { return tracking.ConfigFromEnv(os.Getenv) }
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
	if cfg.runID != "" {
		if err := logEvaluation(ctx, cfg, rep, stderr); err != nil {
			return err
		}
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

// logEvaluation logs the report to the run cfg.runID: the SNI bundle's
// evaluation (tracking.ReportEvaluation, the reader promote's re-scoring
// uses too) and the report folder as artifacts evaluation/.
func logEvaluation(ctx context.Context, cfg config, rep *classify.Report, stderr io.Writer) error {
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	ev, err := tracking.ReportEvaluation(b, string(classify.FeaturesSNI))
	if err != nil {
		return err
	}
	mc, err := cfg.mlflow()
	if err != nil {
		return err
	}
	tr, err := tracking.New(mc)
	if err != nil {
		return err
	}
	run, err := tr.OpenRun(ctx, cfg.runID)
	if err != nil {
		return err
	}
	reports, clean, err := storage.LocalCopy(ctx, cfg.eval.Out, cfg.eval.Store)
	if err != nil {
		return fmt.Errorf("evaluate: --out: %w", err)
	}
	defer clean()
	if _, err := run.LogArtifacts(ctx, reports, evaluationArtifacts); err != nil {
		return err
	}
	if err := run.LogEvaluation(ctx, ev); err != nil {
		return err
	}
	if pts := openSetPoints(rep); len(pts) > 0 {
		if err := run.LogPoints(ctx, pts); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "evaluate: logged the evaluation of %s to run %s\nevaluate: %s\n", ev.Window, run.ID, run.URL())
	return nil
}

// evaluationArtifacts is the run's artifact folder of the report.
const evaluationArtifacts = "evaluation"

// openSetPoints are the first test week's unknown TPR of every open-set
// method of each bundle (metrics unknown_tpr/<feature set>/<method>).
func openSetPoints(rep *classify.Report) []tracking.Point {
	var pts []tracking.Point
	for _, v := range rep.Variants {
		if len(v.Weeks) == 0 {
			continue
		}
		for _, m := range classify.OpenSetMethods {
			if tpr, ok := v.Weeks[0].OpenSet.Methods[m]; ok && !math.IsNaN(float64(tpr)) {
				pts = append(pts, tracking.Point{Key: tracking.MetricKey("unknown_tpr/" + string(v.FeatureSet) + "/" + m), Value: float64(tpr)})
			}
		}
	}
	return pts
}
