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
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
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
	fs.StringVar(&f.bundle, "bundle", "", "log this model bundle folder (local or s3://; a bundle, or a root with one bundle per feature set) as a new run first (instead of --run-id)")
	fs.StringVar(&f.report, "report", "", "with --bundle: evaluate's report.json (local or s3://), logged with its folder")
	fs.StringVar(&f.experiment, "experiment", "", "with --bundle: experiment name (default: MLFLOW_EXPERIMENT_NAME or telcotraffic)")
	fs.StringVar(&f.runName, "run-name", "", "with --bundle: run name (default: train-<test week>)")
	fs.StringVar(&f.kind, "kind", string(tracking.Classifier), "with --bundle: classifier or forecaster")
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
	bundle, cleanBundle, err := storage.LocalCopy(ctx, lf.bundle, cfg.store)
	if err != nil {
		return "", false, fmt.Errorf("register: --bundle: %w", err)
	}
	defer cleanBundle()
	reportDir, reportName := storage.SplitURI(lf.report)
	reports, cleanReports, err := storage.LocalCopy(ctx, reportDir, cfg.store)
	if err != nil {
		return "", false, fmt.Errorf("register: --report: %w", err)
	}
	defer cleanReports()
	b, err := os.ReadFile(filepath.Join(reports, reportName))
	if err != nil {
		return "", false, fmt.Errorf("register: --report %s: %w", lf.report, err)
	}
	// A bundle root holds every feature set; its headline is the SNI one.
	bundleSet := path.Base(strings.TrimRight(lf.bundle, "/"))
	if _, err := os.Stat(filepath.Join(bundle, "manifest.json")); err != nil {
		bundleSet = "sni"
	}
	ev, err := tracking.ReportEvaluation(b, bundleSet)
	if err != nil {
		return "", false, fmt.Errorf("register: %s: %w", lf.report, err)
	}
	tr, err := tracking.New(cfg.mlflow)
	if err != nil {
		return "", false, err
	}
	sum, err := bundleHash(bundle)
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
		name = "train-" + ev.Window
	}
	tables, err := bundleTables(bundle)
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
	for _, m := range []string{"xgb/model.json", "sni/xgb/model.json"} {
		if v, ok := xgbVersion(filepath.Join(bundle, m)); ok {
			spec.XGBoostModel, spec.XGBVersion = m, v
			break
		}
	}
	n, err := run.LogBundle(ctx, bundle, spec)
	if err != nil {
		return "", false, err
	}
	if _, err := run.LogArtifacts(ctx, reports, "evaluation"); err != nil {
		return "", false, err
	}
	if err := run.LogEvaluation(ctx, ev); err != nil {
		return "", false, err
	}
	fmt.Fprintf(stderr, "register: logged %d bundle files and the evaluation of %s as run %s\nregister: %s\n", n, ev.Window, run.ID, run.URL())
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
// train task when it read the lake; for a root of bundles, the SNI
// bundle's); nil when it names none.
func bundleTables(dir string) (map[string]int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, os.ErrNotExist) {
		b, err = os.ReadFile(filepath.Join(dir, "sni", "manifest.json"))
	}
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
