package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
	"github.com/telcotraffic/telcotraffic/tasks/taskio"
)

type config struct {
	lake      string // lake root
	day       string
	version   int64 // flow_features version; -1: latest
	name      string
	alias     string
	reference string // folder with reference.json instead of the registry
	force     bool
	th        drift.Thresholds
	mlflow    *tracking.Config // nil: from the environment (getenv)
	getenv    func(string) string
	store     storage.Options
	xcom      string
}

func defaultThresholds() drift.Thresholds { return drift.DefaultThresholds() }

// RegisterFlags binds the task's flags.
func (c *config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.lake, "lake", "", "lake root (local path or s3://bucket/prefix) with flow_features; drift_metrics and drift_state are written there (required)")
	fs.StringVar(&c.day, "day", "", "day to check, YYYY-MM-DD (required)")
	fs.Int64Var(&c.version, "version", -1, "flow_features Delta version to read (-1: the latest)")
	fs.StringVar(&c.name, "name", "", "registered model whose reference to check against (its reference.json)")
	fs.StringVar(&c.alias, "alias", tracking.AliasChampion, "alias of the model version")
	fs.StringVar(&c.reference, "reference", "", "folder or URI holding reference.json, instead of --name/--alias from MLflow")
	fs.BoolVar(&c.force, "force", false, "check the day again even if drift_state says it was checked")
	fs.Float64Var(&c.th.FeaturePSI, "feature-psi", c.th.FeaturePSI, "PSI above which a feature of the day has shifted")
	fs.Float64Var(&c.th.AppFeaturePSI, "app-feature-psi", c.th.AppFeaturePSI, "PSI above which a feature of one app has shifted")
	fs.Float64Var(&c.th.ShareLogRatio, "share-log-ratio", c.th.ShareLogRatio, "|ln(share/reference share)| above which an app's share has changed")
	fs.Int64Var(&c.th.NewServiceMinFlows, "new-service-flows", c.th.NewServiceMinFlows, "daily flows from which an unseen domain or JA3 is a new service")
	fs.Float64Var(&c.th.ADWIN.Delta, "adwin-delta", c.th.ADWIN.Delta, "ADWIN δ of the daily streams")
	fs.IntVar(&c.th.ADWIN.Clock, "adwin-clock", c.th.ADWIN.Clock, "ADWIN clock of the daily streams (days between cut tests)")
	fs.IntVar(&c.th.RetrainMinApps, "retrain-min-apps", c.th.RetrainMinApps, "distinct apps or services with alerts that ask for retraining (alerts of the whole day always do)")
	fs.IntVar(&c.th.RetrainCooldownDays, "retrain-cooldown", c.th.RetrainCooldownDays, "days after a day that asked for retraining in which no other day asks (0: none)")
}

// lakeRoot accepts the flow_features table URI for the root.
func lakeRoot(lake string) string {
	lake = strings.TrimRight(lake, "/")
	if path.Base(lake) == classify.FeaturesTable {
		return strings.TrimSuffix(lake, "/"+classify.FeaturesTable)
	}
	return lake
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	t0 := time.Now()
	if cfg.lake == "" || cfg.day == "" {
		return errors.New("driftcheck: --lake and --day are required")
	}
	day, err := time.Parse(cesnet.DayLayout, cfg.day)
	if err != nil {
		return fmt.Errorf("driftcheck: --day: %w", err)
	}
	if err := cfg.th.ADWIN.Validate(); err != nil {
		return err
	}
	lake := lakeRoot(cfg.lake)
	// The day's data first: without it there is nothing to do, whatever
	// the registry holds.
	src, err := classify.OpenLakeSource(ctx, lake, cfg.version, cfg.store)
	if errors.Is(err, lakehouse.ErrNotTable) {
		return fmt.Errorf("%w: no %s table in %s yet: %v", taskio.ErrNothingToDo, classify.FeaturesTable, lake, err)
	}
	if err != nil {
		return err
	}
	var featuresVersion int64 = -1
	if v := src.Version().Version; v != nil {
		featuresVersion = *v
	}
	days, err := src.Days(ctx)
	if err != nil {
		return err
	}
	has := false
	for _, d := range days {
		has = has || d.Equal(day)
	}
	if !has {
		return fmt.Errorf("%w: %s@%d has no rows of %s", taskio.ErrNothingToDo, classify.FeaturesTable, featuresVersion, cfg.day)
	}
	ref, refName, model, version, err := loadReference(ctx, cfg)
	if err != nil {
		return err
	}
	st, done, err := drift.LoadState(ctx, lake, cfg.day, refName, cfg.store)
	if err != nil {
		return err
	}
	if done && !cfg.force {
		return fmt.Errorf("%w: %s already checked against %s (--force checks again)", taskio.ErrNothingToDo, cfg.day, refName)
	}
	fmt.Fprintf(stderr, "driftcheck: %s against %s (reference window %s..%s, %d flows)\n", cfg.day, refName, ref.From, ref.To, ref.Flows)

	d := drift.NewDay(ref, cfg.day)
	tab, files, err := src.Files(ctx, day, day)
	if err != nil {
		return err
	}
	next := int64(500_000)
	if err := drift.ReadDay(ctx, tab, files, d, 0, func(n int64) {
		if n >= next {
			fmt.Fprintf(stderr, "driftcheck: %d flows (%.0fs)\n", n, time.Since(t0).Seconds())
			next += 500_000
		}
	}); err != nil {
		return fmt.Errorf("driftcheck: %s@%d: %w", classify.FeaturesTable, featuresVersion, err)
	}
	classes := map[string]bool{}
	for _, c := range ref.Model.Classes {
		classes[c] = true
	}
	found, _, err := drift.ReadPredictions(ctx, lake, cfg.day, cfg.store, func(p *tablerow.FlowPrediction) { d.AddPrediction(p, classes) })
	if err != nil {
		return err
	}
	if !found {
		fmt.Fprintf(stderr, "driftcheck: no %s rows of %s: unknown share, confidence and accuracy streams unavailable\n", drift.PredictionsTable.Name, cfg.day)
	}
	res, rows := drift.Check(ref, d, st, cfg.th)
	res.Model, res.ModelVersion, res.FeaturesVersion = model, version, featuresVersion
	if res.MetricsVersion, err = drift.WriteMetrics(ctx, lake, cfg.day, rows, cfg.store); err != nil {
		return err
	}
	// The state goes last: a day with state is a day fully checked.
	if res.StateVersion, err = drift.WriteState(ctx, lake, cfg.day, st, featuresVersion, cfg.store); err != nil {
		return err
	}
	res.Seconds = time.Since(t0).Seconds()
	fmt.Fprintf(stderr, "driftcheck: %s: %d flows, %d alerts, drift %v, retrain %v; %d metric rows (%s v%d) in %.1fs, %.0f flows/s\n",
		cfg.day, d.Flows, len(res.Alerts), res.Drift, res.Retrain, len(rows), drift.MetricsTable.Name, res.MetricsVersion,
		res.Seconds, float64(d.Flows)/res.Seconds)
	for i, a := range res.Alerts {
		if i == 10 {
			fmt.Fprintf(stderr, "driftcheck:   … %d more\n", len(res.Alerts)-i)
			break
		}
		fmt.Fprintf(stderr, "driftcheck:   %s %s score %.3g (threshold %.3g) since %s %s\n", a.Kind, a.Subject, a.Score, a.Threshold, a.FirstDay, a.Detail)
	}
	return taskio.WriteResult(stdout, cfg.xcom, res)
}

// loadReference reads reference.json from --reference, or from the
// artifacts of the registered model version --name@--alias.
func loadReference(ctx context.Context, cfg config) (ref *drift.Reference, refName, model, version string, err error) {
	if cfg.reference != "" {
		ref, err = drift.LoadReference(ctx, cfg.reference, cfg.store)
		return ref, cfg.reference, "", "", err
	}
	if cfg.name == "" {
		return nil, "", "", "", errors.New("driftcheck: --name (or --reference) is required")
	}
	var mc tracking.Config
	if cfg.mlflow != nil {
		mc = *cfg.mlflow
	} else if mc, err = tracking.ConfigFromEnv(cfg.getenv); err != nil {
		return nil, "", "", "", err
	}
	c, err := mc.Client()
	if err != nil {
		return nil, "", "", "", err
	}
	mv, err := c.RegisteredModels.GetVersionByAlias(ctx, cfg.name, cfg.alias)
	if errors.Is(err, mlflowclient.ErrNotFound) {
		return nil, "", "", "", fmt.Errorf("%w: no %s version of model %s (%v)", taskio.ErrNothingToDo, cfg.alias, cfg.name, err)
	}
	if err != nil {
		return nil, "", "", "", fmt.Errorf("driftcheck: models:/%s@%s: %w", cfg.name, cfg.alias, err)
	}
	uri, err := c.ModelVersions.DownloadURI(ctx, cfg.name, mv.Version)
	if err != nil {
		return nil, "", "", "", fmt.Errorf("driftcheck: models:/%s/%s: %w", cfg.name, mv.Version, err)
	}
	// A registered bundle, or a root of bundles (sni/, no-sni/, as train
	// writes them and register logs them): the with-SNI bundle's profile.
	var buf bytes.Buffer
	for _, p := range []string{drift.ReferenceFile, "sni/" + drift.ReferenceFile, "no-sni/" + drift.ReferenceFile} {
		buf.Reset()
		if _, err = c.Artifacts.Download(ctx, uri, p, &buf); err == nil {
			break
		}
	}
	if err != nil {
		return nil, "", "", "", fmt.Errorf("driftcheck: models:/%s/%s has no %s at its root, sni/ or no-sni/ (trained before reference profiles?): %w", cfg.name, mv.Version, drift.ReferenceFile, err)
	}
	ref, err = drift.DecodeReference(buf.Bytes())
	if err != nil {
		return nil, "", "", "", fmt.Errorf("driftcheck: models:/%s/%s: %w", cfg.name, mv.Version, err)
	}
	return ref, cfg.name + "@" + mv.Version, cfg.name, mv.Version, nil
}
