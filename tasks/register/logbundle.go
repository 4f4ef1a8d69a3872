package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/telcotraffic/telcotraffic/mlflowclient"
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

// TagAirflowRun is the run tag holding the Airflow DAG run that logged the
// bundle (AIRFLOW_CTX_DAG_RUN_ID), to tell a retry from a repeat.
const TagAirflowRun = "airflow.run_id"

// logBundle starts a run, logs the bundle and the evaluation and ends the
// run; it returns the run id to register. A bundle whose content was
// logged before is not logged again: its run is returned, with retry set
// when that run was logged by the same Airflow DAG run (a task retry).
func logBundle(ctx context.Context, cfg config, stderr io.Writer) (runID string, retry bool, err error) {
	lf := cfg.log
	b, err := os.ReadFile(lf.report)
	if err != nil {
		return "", false, fmt.Errorf("register: --report: %w", err)
	}
	var rep evalReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return "", false, fmt.Errorf("register: %s: %w", lf.report, err)
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
		return "", false, err
	}
	sum, err := bundleHash(lf.bundle)
	if err != nil {
		return "", false, err
	}
	// A bundle logged before (a retried or repeated register) is not
	// logged again: its run is registered, and Register reuses its version.
	exp, err := tr.Experiment(ctx, lf.experiment)
	if err != nil {
		return "", false, err
	}
	filter := fmt.Sprintf(`tags."%s" = '%s' and attributes.status = 'FINISHED'`, TagBundleHash, sum)
	for r, err := range tr.Client.Runs.Search(ctx, &mlflowclient.RunSearchOptions{ExperimentIDs: []string{exp.ID}, Filter: filter,
		OrderBy: []string{"attributes.start_time ASC"}}) {
		if err != nil {
			return "", false, fmt.Errorf("register: search runs of bundle %s: %w", sum[:12], err)
		}
		fmt.Fprintf(stderr, "register: bundle %s (sha256 %s) was logged before as run %s; not logging it again\n", lf.bundle, sum[:12], r.Info.RunID)
		same := false
		for _, tag := range r.Data.Tags {
			same = same || (tag.Key == TagAirflowRun && tag.Value == cfg.dagRun && cfg.dagRun != "")
		}
		return r.Info.RunID, same, nil
	}
	name := lf.runName
	if name == "" {
		name = "train-" + rep.Summary.TestWeek
	}
	tables, err := bundleTables(lf.bundle)
	if err != nil {
		return "", false, err
	}
	extra := map[string]string{TagBundleHash: sum}
	if cfg.dagRun != "" {
		extra[TagAirflowRun] = cfg.dagRun
	}
	run, err := tr.StartRun(ctx, lf.experiment, name, tracking.RunTags{Kind: tracking.Kind(lf.kind), Tables: tables,
		Extra: extra})
	if err != nil {
		return "", false, err
	}
	defer func() { err = run.EndWith(context.WithoutCancel(ctx), err) }()
	spec := tracking.ModelSpec{Kind: tracking.Kind(lf.kind), Format: "telcotraffic." + lf.kind + "/1"}
	if v, ok := xgbVersion(filepath.Join(lf.bundle, "xgb", "model.json")); ok {
		spec.XGBoostModel, spec.XGBVersion = "xgb/model.json", v
	}
	n, err := run.LogBundle(ctx, lf.bundle, spec)
	if err != nil {
		return "", false, err
	}
	if _, err := run.LogArtifacts(ctx, filepath.Dir(lf.report), "evaluation"); err != nil {
		return "", false, err
	}
	if err := run.LogEvaluation(ctx, tracking.Evaluation{Window: rep.Summary.TestWeek, Scores: scores, ClassRecall: recall}); err != nil {
		return "", false, err
	}
	fmt.Fprintf(stderr, "register: logged %d bundle files and the evaluation of %s as run %s\nregister: %s\n", n, rep.Summary.TestWeek, run.ID, run.URL())
	return run.ID, false, nil
}

// TagBundleHash is the run tag holding the SHA-256 of the logged bundle's
// content (see bundleHash).
const TagBundleHash = "telcotraffic.bundle_sha256"

// bundleHash is the SHA-256 of a bundle folder's content: every regular
// file's slash path, size and bytes, in path order, except the MLmodel
// file. Modification times do not count: the same model written again has
// the same hash.
func bundleHash(dir string) (string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// MLmodel is written into the bundle when it is logged (naming the
		// run): it is not part of the model's content.
		if d.Type().IsRegular() && (filepath.Dir(p) != filepath.Clean(dir) || d.Name() != mlflowclient.MLmodelFileName) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("register: --bundle: %w", err)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return "", fmt.Errorf("register: --bundle: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
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
