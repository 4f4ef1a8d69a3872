// Command train fits the service classifier on the training and validation
// weeks of flow_features and writes one model bundle per feature set; with
// --experiment it logs the training and the bundles as an MLflow run. It
// exits 99 (nothing to do) when --out already holds the bundles trained on
// the same data version, or when the newest version of --model-name in the
// MLflow registry learned from the flow_features version (and test window)
// this run would train on, unless --force; and when fewer weeks than the
// --as-of window needs are complete (a young lake).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
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
	track    trackFlags
	mlflow   func() (tracking.Config, error) // from the environment, read with --model-name or --experiment
	xcom     string                          // result file for Airflow, or ""
}

func main() {
	var cfg config
	sourceFlags(flag.CommandLine, &cfg.data)
	trainFlags(flag.CommandLine, &cfg.train)
	ctx := taskio.Parse(&cfg.xcom, &cfg.registry, &cfg.track)
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
		if cfg.track.experiment != "" {
			if lerr := checkLogged(ctx, cfg); lerr != nil {
				return lerr
			}
		}
		return fmt.Errorf("%w: %v", taskio.ErrNothingToDo, err)
	}
	if errors.Is(err, classify.ErrTooFewWeeks) {
		return fmt.Errorf("%w: %v", taskio.ErrNothingToDo, err)
	}
	if err != nil {
		return err
	}
	if cfg.track.experiment != "" {
		if err := logRun(ctx, cfg, res, stderr); err != nil {
			return err
		}
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

// trainFlags binds the train task's flags other than the data flags,
// with classify.DefaultTrainConfig's values as defaults (it resets c to them).
func trainFlags(fs *flag.FlagSet, c *classify.TrainConfig) {
	*c = classify.DefaultTrainConfig()
	fs.StringVar(&c.Out, "out", "", "bundle root: one bundle folder per feature set (required)")
	fs.Func("feature-sets", "comma-separated feature sets: sni, no-sni (default both)", func(s string) error {
		c.FeatureSets = nil
		for _, f := range strings.Split(s, ",") {
			v, err := classify.ParseFeatureSet(strings.TrimSpace(f))
			if err != nil {
				return err
			}
			c.FeatureSets = append(c.FeatureSets, v)
		}
		return nil
	})
	fs.Func("members", "comma-separated members of every bundle: xgb, xgb-hier, seqnet, lstm, mmcesnet, linear (default xgb-hier,seqnet)", func(s string) error {
		c.Members = strings.Split(s, ",")
		return nil
	})
	fs.IntVar(&c.Split.SkipWeeks, "skip-weeks", c.Split.SkipWeeks, "weeks left out at the start of the data")
	fs.IntVar(&c.Split.TrainWeeks, "train-weeks", c.Split.TrainWeeks, "training weeks")
	fs.IntVar(&c.Split.ValWeeks, "val-weeks", c.Split.ValWeeks, "validation weeks (stacking, early stopping, reject threshold)")
	fs.IntVar(&c.Split.TestWeeks, "test-weeks", c.Split.TestWeeks, "with --as-of: test weeks left after validation for evaluate (0: 1)")
	fs.Func("as-of", "YYYY-MM-DD: train on the latest weeks complete on this day (train, validation, then test weeks; the DAG passes its logical date)", func(s string) error {
		if _, err := time.Parse(cesnet.DayLayout, s); err != nil {
			return fmt.Errorf("--as-of %q: want YYYY-MM-DD", s)
		}
		c.Split.AsOf = s
		return nil
	})
	fs.BoolVar(&c.Split.HeldOutRows, "held-out-rows", c.Split.HeldOutRows, "validation and test are flows held out by id (one in ten each) of the last training weeks, not the weeks after them: the model learns up to the newest complete week; test window <week>"+classify.HeldOutSuffix)
	fs.IntVar(&c.MaxTrainRows, "max-train-rows", c.MaxTrainRows, "training rows sampled from the training weeks")
	fs.IntVar(&c.MaxValRows, "max-val-rows", c.MaxValRows, "validation rows sampled from the validation weeks")
	fs.IntVar(&c.MaxRowsPerApp, "max-rows-per-app", c.MaxRowsPerApp, "training rows kept per app (0: uniform sample)")
	fs.IntVar(&c.MinClassRows, "min-class-rows", c.MinClassRows, "fewest sampled training rows of an app to make it a class")
	fs.Float64Var(&c.HoldoutFrac, "holdout-frac", c.HoldoutFrac, "share of apps (whole provider groups) held out as unknown services; 0: none")
	fs.Func("holdout-apps", "comma-separated apps held out as unknown services instead of the seeded --holdout-frac choice (recorded in the bundle)", func(s string) error {
		c.HoldoutApps = nil
		for _, a := range strings.Split(s, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.HoldoutApps = append(c.HoldoutApps, a)
			}
		}
		return nil
	})
	fs.Float64Var(&c.OpenSetFrac, "open-set-frac", c.OpenSetFrac, "share of apps (whole provider groups, apart from the held-out ones) left out of training to teach the unknown-service head; 0: no head")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "seed of sampling, folds and members")
	fs.IntVar(&c.Member.XGB.Rounds, "xgb-rounds", c.Member.XGB.Rounds, "maximum XGBoost rounds (a flat model grows rounds × classes trees)")
	fs.IntVar(&c.Member.XGB.MaxDepth, "xgb-depth", c.Member.XGB.MaxDepth, "XGBoost max depth")
	fs.Float64Var(&c.Member.XGB.Eta, "xgb-eta", c.Member.XGB.Eta, "XGBoost learning rate")
	fs.IntVar(&c.Member.XGB.MaxBin, "xgb-bins", c.Member.XGB.MaxBin, "XGBoost histogram bins per feature")
	fs.IntVar(&c.Member.XGB.EarlyStop, "xgb-early-stop", c.Member.XGB.EarlyStop, "XGBoost rounds without a better validation loss before stopping")
	fs.IntVar(&c.Member.XGB.Threads, "threads", c.Member.XGB.Threads, "XGBoost threads (0: all cores)")
	fs.IntVar(&c.Member.Seqnet.MaxRows, "net-rows", c.Member.Seqnet.MaxRows, "training rows of the sequence net")
	fs.IntVar(&c.Member.Seqnet.Train.MaxEpochs, "net-epochs", c.Member.Seqnet.Train.MaxEpochs, "maximum epochs of the sequence net")
	fs.IntVar(&c.Member.LSTM.MaxRows, "lstm-rows", c.Member.LSTM.MaxRows, "training rows of the LSTM member (0: 30000)")
	fs.IntVar(&c.Member.LSTM.Train.MaxEpochs, "lstm-epochs", c.Member.LSTM.Train.MaxEpochs, "maximum epochs of the LSTM member (0: 10)")
	fs.IntVar(&c.Member.MM.MaxRows, "mm-rows", c.Member.MM.MaxRows, "training rows of the mm-CESNET member (0: 30000)")
	fs.IntVar(&c.Member.MM.Train.MaxEpochs, "mm-epochs", c.Member.MM.Train.MaxEpochs, "maximum epochs of the mm-CESNET member (0: 10)")
	fs.BoolVar(&c.Force, "force", false, "train even if --out already holds bundles trained on this data version (else: nothing to do, exit 99)")
}

// sourceFlags binds --raw, --lake and --version.
func sourceFlags(fs *flag.FlagSet, f *classify.SourceFlags) {
	fs.StringVar(&f.Raw, "raw", "", "raw dataset root (flow_features computed from it)")
	fs.StringVar(&f.Lake, "lake", "", "lake root with the "+classify.FeaturesTable+" table (or the table URI itself)")
	fs.Int64Var(&f.Version, "version", -1, classify.FeaturesTable+" Delta version to read (with --lake; -1: the latest)")
}
