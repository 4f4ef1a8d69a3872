package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/internal/xgb"
)

// With --experiment the task logs its training as one MLflow run, with the
// conventions of tasks/internal/tracking (as forecast does): a run of kind
// classifier named train-<as-of day or first test week>, the training
// settings as params, each bundle's validation scores as metrics, the
// sequence net's per-epoch history as metric histories, the flow_features
// version read as a tag, and the bundle root (both feature sets) as the
// run's model (artifact model/ with its MLmodel). evaluate --run-id logs
// its evaluation to the same run; register --run-id makes it a version.

// trackFlags are the flags of the MLflow run.
type trackFlags struct {
	experiment string
	runName    string
}

func (f *trackFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&f.experiment, "experiment", "", "log the training as an MLflow run of this experiment (needs MLFLOW_TRACKING_URI; empty: no run)")
	fs.StringVar(&f.runName, "run-name", "", "with --experiment: run name (default: train-<as-of day or first test week>)")
}

// classifierFormat is the layout of a classifier bundle root as logged.
const classifierFormat = "telcotraffic.classifier/1"

// logRun logs a finished training as a new MLflow run and fills the run's
// id and page into res.
func logRun(ctx context.Context, cfg config, res *classify.TrainResult, stderr io.Writer) (err error) {
	mc, err := cfg.mlflow()
	if err != nil {
		return err
	}
	tr, err := tracking.New(mc)
	if err != nil {
		return err
	}
	bundle, clean, err := storage.LocalCopy(ctx, cfg.train.Out, cfg.train.Store)
	if err != nil {
		return fmt.Errorf("train: --out: %w", err)
	}
	defer clean()
	rt := tracking.RunTags{Kind: tracking.Classifier, Extra: map[string]string{tagBundleURI: cfg.train.Out}}
	if v := res.Data.Version; res.Data.Table != "" && v != nil {
		rt.Tables = map[string]int64{res.Data.Table: *v}
	}
	if dagRun := os.Getenv("AIRFLOW_CTX_DAG_RUN_ID"); dagRun != "" {
		rt.Extra[tagAirflowRun] = dagRun
	}
	run, err := tr.StartRun(ctx, cfg.track.experiment, runName(cfg.track.runName, res), rt)
	if err != nil {
		return err
	}
	defer func() { err = run.EndWith(context.WithoutCancel(ctx), err) }()
	res.MLflowRunID, res.MLflowRunURL = run.ID, run.URL()
	fmt.Fprintf(stderr, "train: logging to MLflow run %s\n", run.URL())
	if err := run.LogParams(ctx, trainParams(cfg.train, res)); err != nil {
		return err
	}
	if err := run.LogMetrics(ctx, 0, trainMetrics(res)); err != nil {
		return err
	}
	if err := logHistories(ctx, run, bundle, res); err != nil {
		return err
	}
	spec := tracking.ModelSpec{Kind: tracking.Classifier, Format: classifierFormat, Tables: rt.Tables}
	for _, b := range res.Bundles {
		spec.Members = append(spec.Members, string(b.FeatureSet))
	}
	// A flat tree member (by default the no-SNI bundle's) is the one
	// MLflow's xgboost flavor loads.
	for _, m := range []string{"sni/xgb/model.json", "no-sni/xgb/model.json", "xgb/model.json"} {
		if _, err := os.Stat(filepath.Join(bundle, m)); err == nil {
			spec.XGBoostModel, spec.XGBVersion = m, xgb.Version()
			break
		}
	}
	n, err := run.LogBundle(ctx, bundle, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "train: logged %d bundle files as run %s\n", n, run.ID)
	return nil
}

// tagAirflowRun is the run tag holding the Airflow DAG run that trained
// the bundles (AIRFLOW_CTX_DAG_RUN_ID).
const tagAirflowRun = "airflow.run_id"

func runName(name string, res *classify.TrainResult) string {
	switch {
	case name != "":
		return name
	case res.AsOf != "":
		return "train-" + res.AsOf
	case len(res.Test) > 0:
		return "train-" + res.Test[0]
	}
	return "train"
}

// trainParams are the settings of the training and the window it used.
func trainParams(c classify.TrainConfig, res *classify.TrainResult) map[string]string {
	i := strconv.Itoa
	var sets []string
	for _, b := range res.Bundles {
		sets = append(sets, string(b.FeatureSet))
	}
	members := strings.Join(c.Members, ",")
	if members == "" {
		var per []string
		for _, b := range res.Bundles {
			per = append(per, string(b.FeatureSet)+":"+strings.Join(classify.DefaultMembers(b.FeatureSet), "+"))
		}
		members = strings.Join(per, ",")
	}
	p := map[string]string{
		"feature_sets":     strings.Join(sets, ","),
		"members":          members,
		"train_weeks":      strings.Join(res.Train, ","),
		"val_weeks":        strings.Join(res.Val, ","),
		"test_weeks":       strings.Join(res.Test, ","),
		"max_train_rows":   i(c.MaxTrainRows),
		"max_val_rows":     i(c.MaxValRows),
		"max_rows_per_app": i(c.MaxRowsPerApp),
		"min_class_rows":   i(c.MinClassRows),
		"holdout_frac":     strconv.FormatFloat(c.HoldoutFrac, 'g', -1, 64),
		"seed":             strconv.FormatUint(c.Seed, 10),
		"xgb_rounds":       i(c.Member.XGB.Rounds),
		"xgb_depth":        i(c.Member.XGB.MaxDepth),
		"net_rows":         i(c.Member.Seqnet.MaxRows),
		"net_epochs":       i(c.Member.Seqnet.Train.MaxEpochs),
	}
	if res.AsOf != "" {
		p["as_of"] = res.AsOf
	}
	return p
}

// trainMetrics are the counts of the training and each bundle's
// validation macro-F1 per member, stacking pool and reject threshold.
func trainMetrics(res *classify.TrainResult) map[string]float64 {
	m := map[string]float64{
		"classes":      float64(res.Classes),
		"train_rows":   float64(res.TrainRows),
		"val_rows":     float64(res.ValRows),
		"holdout_apps": float64(res.Holdout),
		"seconds":      res.Seconds,
	}
	for _, b := range res.Bundles {
		for member, f1 := range b.ValMacroF1 {
			m[tracking.MetricKey("val_macro_f1/"+string(b.FeatureSet)+"/"+member)] = f1
		}
		m[tracking.MetricKey("reject_threshold/"+string(b.FeatureSet))] = float64(b.Threshold)
		for method, tpr := range b.RejectValTPR {
			if !math.IsNaN(tpr) {
				m[tracking.MetricKey("val_unknown_tpr/"+string(b.FeatureSet)+"/"+method)] = tpr
			}
		}
	}
	return m
}

// logHistories logs the sequence nets' per-epoch losses and validation
// macro-F1 of each bundle (from its saved seqnet.json or mmcesnet.json) as
// metric histories seqnet/<feature set>/<measure> or mmcesnet/…, step =
// epoch − 1, and the tree members'
// per-round validation mlogloss (their info.json) as
// xgb/<feature set>/<member folder>/valid_mlogloss, step = round − 1.
func logHistories(ctx context.Context, run *tracking.Run, root string, res *classify.TrainResult) error {
	for _, b := range res.Bundles {
		dir := filepath.Join(root, string(b.FeatureSet))
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if d.Name() == "info.json" {
				return logTreeHistory(ctx, run, dir, p)
			}
			prefix := map[string]string{seqnet.ConfigFile: "seqnet/", seqnet.MMConfigFile: "mmcesnet/"}[d.Name()]
			if prefix == "" {
				return nil
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var fc struct {
				Train seqnet.TrainInfo `json:"train"`
			}
			if err := json.Unmarshal(raw, &fc); err != nil {
				return fmt.Errorf("train: %s: %w", p, err)
			}
			h := fc.Train.History
			series := map[string][]float64{}
			for _, e := range h {
				series["train_loss"] = append(series["train_loss"], e.TrainLoss)
				series["val_loss"] = append(series["val_loss"], e.ValLoss)
				series["val_macro_f1"] = append(series["val_macro_f1"], e.ValMacroF1)
			}
			for k, v := range series {
				if err := run.LogHistory(ctx, tracking.MetricKey(prefix+string(b.FeatureSet)+"/"+k), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// logTreeHistory logs the per-round validation mlogloss a tree member's
// info.json holds (none: nothing to log).
func logTreeHistory(ctx context.Context, run *tracking.Run, bundle, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var info struct {
		ValidHistory []float64 `json:"valid_mlogloss"`
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return fmt.Errorf("train: %s: %w", path, err)
	}
	if len(info.ValidHistory) == 0 {
		return nil
	}
	rel, err := filepath.Rel(bundle, filepath.Dir(path))
	if err != nil {
		return err
	}
	key := "xgb/" + filepath.Base(bundle) + "/" + filepath.ToSlash(rel) + "/valid_mlogloss"
	return run.LogHistory(ctx, tracking.MetricKey(key), info.ValidHistory)
}

// tagBundleURI is the run tag holding the bundle root the run logged
// (--out).
const tagBundleURI = "telcotraffic.bundle_uri"

// checkLogged reports an error when --out holds bundles trained on this
// data but no finished run of the experiment logged them (the logging of
// an earlier attempt failed after training): exit 99 would leave them
// unregistered without a word.
func checkLogged(ctx context.Context, cfg config) error {
	mc, err := cfg.mlflow()
	if err != nil {
		return err
	}
	tr, err := tracking.New(mc)
	if err != nil {
		return err
	}
	exp, err := tr.Experiment(ctx, cfg.track.experiment)
	if err != nil {
		return err
	}
	filter := fmt.Sprintf(`tags."%s" = '%s' and attributes.status = 'FINISHED'`, tagBundleURI, strings.ReplaceAll(cfg.train.Out, "'", `\'`))
	for _, err := range tr.Client.Runs.Search(ctx, &mlflowclient.RunSearchOptions{ExperimentIDs: []string{exp.ID}, Filter: filter}) {
		return err // one finished run logged them
	}
	return fmt.Errorf("train: %s holds bundles trained on this data that no finished run of experiment %s logged; train again with --force", cfg.train.Out, cfg.track.experiment)
}
