package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// logFlags log a bundle written by the train task, with the report written
// by the evaluate task, as a new MLflow run before it is registered: the
// path taken when the training step itself ran without MLflow.
type logFlags struct {
	bundle     string // model bundle folder (with manifest.json)
	report     string // evaluate's report.json
	experiment string
	runName    string
	kind       string
}

// RegisterFlags adds the flags of the --bundle path to fs.
func (f *logFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.bundle, "bundle", "", "log this model bundle folder as a new run first (instead of --run-id)")
	fs.StringVar(&f.report, "report", "", "with --bundle: evaluate's report.json, logged with the run")
	fs.StringVar(&f.experiment, "experiment", "", "with --bundle: experiment name (default: MLFLOW_EXPERIMENT_NAME or telcotraffic)")
	fs.StringVar(&f.runName, "run-name", "", "with --bundle: run name (default: train-<test week>)")
	fs.StringVar(&f.kind, "kind", string(tracking.Classifier), "with --bundle: classifier or forecaster")
}

// evalReport is the part of classify's report.json this task reads.
type evalReport struct {
	Summary struct {
		TestWeek    string   `json:"test_week"`
		Accuracy    *float64 `json:"accuracy"`
		MacroF1     *float64 `json:"macro_f1"`
		MacroRecall *float64 `json:"macro_recall"`
		MacroF1No   *float64 `json:"macro_f1_no_sni"`
		UnknownTPR  *float64 `json:"unknown_tpr_at_5fpr"`
	} `json:"summary"`
	Variants []struct {
		FeatureSet string `json:"feature_set"`
		First      struct {
			PerClass []struct {
				Class   string  `json:"class"`
				Recall  float64 `json:"recall"`
				Support int64   `json:"support"`
			} `json:"per_class"`
		} `json:"first_week"`
	} `json:"variants"`
}

// logBundle starts a run, logs the bundle and the evaluation and ends the
// run; it returns the run id to register.
func logBundle(ctx context.Context, cfg config, stderr io.Writer) (runID string, err error) {
	lf := cfg.log
	b, err := os.ReadFile(lf.report)
	if err != nil {
		return "", fmt.Errorf("register: --report: %w", err)
	}
	var rep evalReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return "", fmt.Errorf("register: %s: %w", lf.report, err)
	}
	scores := map[string]float64{}
	for k, v := range map[string]*float64{"accuracy": rep.Summary.Accuracy, "macro_f1": rep.Summary.MacroF1,
		"macro_recall": rep.Summary.MacroRecall, "macro_f1_no_sni": rep.Summary.MacroF1No, "unknown_tpr_at_5fpr": rep.Summary.UnknownTPR} {
		if v != nil {
			scores[k] = *v
		}
	}
	recall := map[string]float64{}
	bundleSet := filepath.Base(lf.bundle)
	for _, v := range rep.Variants {
		if v.FeatureSet != bundleSet && len(rep.Variants) > 1 {
			continue
		}
		for _, c := range v.First.PerClass {
			if c.Support > 0 {
				recall[c.Class] = c.Recall
			}
		}
	}
	tr, err := tracking.New(cfg.mlflow)
	if err != nil {
		return "", err
	}
	name := lf.runName
	if name == "" {
		name = "train-" + rep.Summary.TestWeek
	}
	tables, err := bundleTables(lf.bundle)
	if err != nil {
		return "", err
	}
	run, err := tr.StartRun(ctx, lf.experiment, name, tracking.RunTags{Kind: tracking.Kind(lf.kind), Tables: tables})
	if err != nil {
		return "", err
	}
	defer func() { err = run.EndWith(context.WithoutCancel(ctx), err) }()
	spec := tracking.ModelSpec{Kind: tracking.Kind(lf.kind), Format: "telcotraffic." + lf.kind + "/1"}
	if v, ok := xgbVersion(filepath.Join(lf.bundle, "xgb", "model.json")); ok {
		spec.XGBoostModel, spec.XGBVersion = "xgb/model.json", v
	}
	n, err := run.LogBundle(ctx, lf.bundle, spec)
	if err != nil {
		return "", err
	}
	if _, err := run.LogArtifacts(ctx, filepath.Dir(lf.report), "evaluation"); err != nil {
		return "", err
	}
	if err := run.LogEvaluation(ctx, tracking.Evaluation{Window: rep.Summary.TestWeek, Scores: scores, ClassRecall: recall}); err != nil {
		return "", err
	}
	fmt.Fprintf(stderr, "register: logged %d bundle files and the evaluation of %s as run %s\nregister: %s\n", n, rep.Summary.TestWeek, run.ID, run.URL())
	return run.ID, nil
}

// bundleTables returns the Delta table version a bundle learned from, as
// its manifest.json records it (data.table and data.version, written by the
// train task when it read the lake); nil when it names none.
func bundleTables(dir string) (map[string]int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("register: --bundle: %w", err)
	}
	var m struct {
		Data struct {
			Table   string `json:"table"`
			Version *int64 `json:"version"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("register: %s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	if m.Data.Table == "" || m.Data.Version == nil {
		return nil, nil
	}
	return map[string]int64{m.Data.Table: *m.Data.Version}, nil
}

// xgbVersion reads the writer's version from an XGBoost JSON model
// ("version": [1, 7, 4]).
func xgbVersion(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	var m struct {
		Version []int `json:"version"`
	}
	if err := json.NewDecoder(f).Decode(&m); err != nil || len(m.Version) != 3 {
		return "", false
	}
	return fmt.Sprintf("%d.%d.%d", m.Version[0], m.Version[1], m.Version[2]), true
}
