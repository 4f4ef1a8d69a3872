// Package serve owns the serving stage: it applies the champion classifier
// to every flow of flow_features for a day (or a range of days) and writes
// the flow_predictions and app_usage_daily Delta tables.
//
// # Model
//
// The champion is resolved through the MLflow registry
// (models:/<name>@champion) and its registered files are downloaded; no local
// path is involved. A registered version is either a root of bundles (one
// folder per feature set, as train writes them: sni/ and no-sni/) or one
// bundle. Each flow goes to the with-SNI bundle when its ClientHello carried
// a server name, else to the no-SNI bundle; a version with a single bundle
// scores every flow with it.
//
// Encrypted Client Hello: with ECH the visible (outer) SNI is the
// provider's public name, not the service's. Flows whose SNI domain is a
// known ECH public name (ECHOuterNames) are scored by the no-SNI bundle, as
// flows without SNI are; they keep their SNI in flow_predictions so the
// share of ECH traffic stays visible.
//
// # Tables
//
// Both tables are partitioned by day. A run replaces the partitions of the
// days it scores (replace-where), in one commit per table and day carrying a
// Delta txn whose app id names the day and the model version and whose
// version is the flow_features version read: the same inputs again commit
// nothing (ErrNothingToDo), so Airflow retries leave the tables as one run
// would.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
)

// Table names under the lake root (lakehouse/catalog).
var (
	PredictionsTable = catalog.FlowPredictions.Name
	UsageTable       = catalog.AppUsageDaily.Name
)

// UnknownApp is the app_usage_daily row of flows flagged as unknown
// services.
const UnknownApp = "unknown"

// ECHOuterNames are SNI registered domains that ECH deployments use as the
// public (outer) name; flows carrying them are scored as flows without SNI.
var ECHOuterNames = []string{"cloudflare-ech.com"}

// ErrNothingToDo is returned by Score when every day was already scored
// from the same flow_features version by the same model version.
var ErrNothingToDo = errors.New("serve: these days were scored from the same inputs before")

// Config configures Score.
type Config struct {
	Lake string // lake root: flow_features is read, the outputs written there
	// Version pins flow_features (-1: the latest, resolved at the start).
	Version  int64
	From, To time.Time // days to score, inclusive
	// BatchRows is the number of flows predicted per call (default 8192).
	BatchRows int
	// Threads bounds each bundle's cores per call (0: all).
	Threads int
	// Force scores again even when the same inputs were scored before.
	Force bool
	Store storage.Options
}

// Flags are the score task's flags besides the model's.
type Flags struct {
	Config
	Day, FromDay, ToDay string
}

// Resolve checks the flags and fills From and To.
func (f *Flags) Resolve() (Config, error) {
	c := f.Config
	if c.Lake == "" {
		return c, errors.New("serve: --lake is required")
	}
	from, to := f.FromDay, f.ToDay
	if f.Day != "" {
		if from != "" || to != "" {
			return c, errors.New("serve: give --day or --from/--to, not both")
		}
		from, to = f.Day, f.Day
	}
	if from == "" || to == "" {
		return c, errors.New("serve: give --day DAY or --from DAY --to DAY")
	}
	var err error
	if c.From, err = time.Parse(cesnet.DayLayout, from); err != nil {
		return c, fmt.Errorf("serve: day %q: %w", from, err)
	}
	if c.To, err = time.Parse(cesnet.DayLayout, to); err != nil {
		return c, fmt.Errorf("serve: day %q: %w", to, err)
	}
	if c.To.Before(c.From) {
		return c, fmt.Errorf("serve: --to %s is before --from %s", to, from)
	}
	return c, nil
}

// Model is the classifier that scores: its bundles and registry identity.
type Model struct {
	Name, Version string
	// SNI scores flows with a server name, NoSNI the others; either may
	// be nil, then the other scores every flow.
	SNI, NoSNI *classify.Bundle
}

// Close frees the bundles.
func (m *Model) Close() error {
	var errs []error
	for _, b := range []*classify.Bundle{m.SNI, m.NoSNI} {
		if b != nil {
			errs = append(errs, b.Close())
		}
	}
	return errors.Join(errs...)
}

// VariantFlows counts the flows each bundle scored.
type VariantFlows struct {
	SNI   int64 `json:"sni"`
	NoSNI int64 `json:"no_sni"`
	ECH   int64 `json:"ech"` // of NoSNI: flows with an ECH outer name
}

// Result is the score task's result.
type Result struct {
	FlowPredictionsVersion int64        `json:"flow_predictions_version"`
	AppUsageVersion        int64        `json:"app_usage_version"`
	ScoredFlows            int64        `json:"scored_flows"`
	Days                   []string     `json:"days"`
	Variants               VariantFlows `json:"variants"`
	UnknownFlows           int64        `json:"unknown_flows"`
	// UsageShareMAE is the mean absolute error of the predicted app shares
	// of the scored flows against their labels, over the apps predicted or
	// labelled; UsageShareMAETop20 the same over the 20 apps with the
	// largest true share. Null when no flow is labelled.
	UsageShareMAE      classify.Num `json:"usage_share_mae"`
	UsageShareMAETop20 classify.Num `json:"usage_share_mae_top20"`
	ModelName          string       `json:"model_name"`
	ModelVersion       string       `json:"model_version"`
	FeaturesVersion    int64        `json:"features_version"`
	Skipped            bool         `json:"skipped"` // nothing to do
	Seconds            float64      `json:"seconds"`
}

// txnID is the Delta txn app id of one day's scoring by one model version.
func txnID(m *Model, day string) string {
	return fmt.Sprintf("score/%s/%s@%s", day, m.Name, m.Version)
}

// openTable opens or creates an output table.
func openTable[T any](ctx context.Context, lake, name string, opts storage.Options) (*lakehouse.Table, error) {
	tab, err := catalog.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	t, err := catalog.OpenOrCreate[T](ctx, tab, lake, opts, lakehouse.Options{EngineInfo: "telcotraffic-score"})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return t, nil
}

// Score classifies every flow of the days in [cfg.From, cfg.To] with m and
// writes both tables. It returns ErrNothingToDo (with the result naming the
// current table versions) when every day was scored from the same inputs.
func Score(ctx context.Context, cfg Config, m *Model, progress io.Writer) (*Result, error) {
	if progress == nil {
		progress = io.Discard
	}
	if m.SNI == nil && m.NoSNI == nil {
		return nil, errors.New("serve: the model has no bundle")
	}
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = 8192
	}
	t0 := time.Now()
	src, err := classify.OpenLakeSource(ctx, cfg.Lake, cfg.Version, cfg.Store)
	if err != nil {
		return nil, err
	}
	fv := *src.Version().Version
	all, err := src.Days(ctx)
	if err != nil {
		return nil, err
	}
	var days []string
	for _, d := range all {
		if !d.Before(cfg.From) && !d.After(cfg.To) {
			days = append(days, d.Format(cesnet.DayLayout))
		}
	}
	if len(days) == 0 {
		return nil, fmt.Errorf("serve: %s@%d has no flows from %s to %s", classify.FeaturesTableURI(cfg.Lake), fv,
			cfg.From.Format(cesnet.DayLayout), cfg.To.Format(cesnet.DayLayout))
	}
	preds, err := openTable[tablerow.FlowPrediction](ctx, cfg.Lake, PredictionsTable, cfg.Store)
	if err != nil {
		return nil, err
	}
	usage, err := openTable[tablerow.AppUsageDaily](ctx, cfg.Lake, UsageTable, cfg.Store)
	if err != nil {
		return nil, err
	}
	res := &Result{Days: days, ModelName: m.Name, ModelVersion: m.Version, FeaturesVersion: fv}
	if !cfg.Force {
		done, pv, uv, err := scoredBefore(ctx, preds, usage, m, days, fv)
		if err != nil {
			return nil, err
		}
		if done {
			res.FlowPredictionsVersion, res.AppUsageVersion, res.Skipped = pv, uv, true
			return res, fmt.Errorf("%w: %s by %s version %s from %s version %d", ErrNothingToDo, strings.Join(days, ", "), m.Name, m.Version, classify.FeaturesTable, fv)
		}
	}
	for _, b := range []*classify.Bundle{m.SNI, m.NoSNI} {
		if b != nil && cfg.Threads > 0 {
			if err := b.SetThreads(cfg.Threads); err != nil {
				return nil, err
			}
		}
	}
	var total usageCounts
	for _, day := range days {
		d, _ := time.Parse(cesnet.DayLayout, day)
		t1 := time.Now()
		txn := &lakehouse.Txn{AppID: txnID(m, day), Version: fv}
		if cfg.Force {
			txn = nil // the txn of these inputs is there already
		}
		pw, err := newChunkWriter[tablerow.FlowPrediction](ctx, preds, day, predictionFileRows)
		if err != nil {
			return nil, err
		}
		n, counts, err := scoreDay(ctx, src, d, m, fv, cfg.BatchRows, res, pw)
		if err != nil {
			return nil, err
		}
		pr, err := pw.commit(ctx, txn)
		if err != nil {
			return nil, fmt.Errorf("serve: %s day %s: %w", PredictionsTable, day, err)
		}
		part := []map[string]string{{"day": day}}
		ur, err := lakehouse.Write(ctx, usage, counts.rows(day, m, fv), lakehouse.WriteOptions{Mode: lakehouse.ModeReplaceWhere, Partitions: part, Txn: txn})
		if err != nil {
			return nil, fmt.Errorf("serve: %s day %s: %w", UsageTable, day, err)
		}
		res.FlowPredictionsVersion, res.AppUsageVersion = pr.Version, ur.Version
		res.ScoredFlows += int64(n)
		total.addAll(counts)
		dt := time.Since(t1).Seconds()
		fmt.Fprintf(progress, "serve: %s: %d flows (%d unknown), %s version %d, %s version %d (%.1fs, %.0f flows/s)\n",
			day, n, counts.unknown, PredictionsTable, pr.Version, UsageTable, ur.Version, dt, float64(n)/max(dt, 1e-9))
	}
	res.UnknownFlows = total.unknown
	res.UsageShareMAE, res.UsageShareMAETop20 = total.shareMAE(20)
	res.Seconds = time.Since(t0).Seconds()
	fmt.Fprintf(progress, "serve: %d flows of %d days in %.1fs (%.0f flows/s); usage share MAE %.5f, top 20 %.5f\n",
		res.ScoredFlows, len(days), res.Seconds, float64(res.ScoredFlows)/max(res.Seconds, 1e-9), float64(res.UsageShareMAE), float64(res.UsageShareMAETop20))
	return res, nil
}

// scoredBefore reports whether both tables hold the txn of every day for
// these inputs, and the tables' versions.
func scoredBefore(ctx context.Context, preds, usage *lakehouse.Table, m *Model, days []string, fv int64) (bool, int64, int64, error) {
	done := true
	var versions [2]int64
	for i, t := range []*lakehouse.Table{preds, usage} {
		snap, err := t.Snapshot(ctx)
		if err != nil {
			return false, 0, 0, fmt.Errorf("serve: %w", err)
		}
		versions[i] = snap.Version
		for _, d := range days {
			if v, ok := snap.AppVersion(txnID(m, d)); !ok || v < fv {
				done = false
			}
		}
	}
	return done, versions[0], versions[1], nil
}

// hasSNI says whether a flow goes to the with-SNI bundle, and whether its
// SNI is an ECH outer name.
func hasSNI(r *tablerow.FlowFeatures) (sni, ech bool) {
	if r.SNIDomain == "" {
		return false, false
	}
	for _, n := range ECHOuterNames {
		if r.SNIDomain == n || strings.HasSuffix(r.SNIDomain, "|"+n) || strings.HasSuffix(r.SNIDomain, "."+n) {
			return false, true
		}
	}
	return true, false
}

// batch collects flows for one bundle.
type batch struct {
	variant string
	bundle  *classify.Bundle
	rows    []tablerow.FlowFeatures
}

func (b *batch) add(r *tablerow.FlowFeatures) {
	n := len(b.rows)
	if n < cap(b.rows) {
		b.rows = b.rows[:n+1]
	} else {
		b.rows = append(b.rows, tablerow.FlowFeatures{})
	}
	dst := &b.rows[n]
	stats, phist, ppi := dst.Stats, dst.PHist, dst.PPI
	*dst = *r
	dst.Stats = append(stats[:0], r.Stats...)
	dst.PHist = append(phist[:0], r.PHist...)
	dst.PPI = append(ppi[:0], r.PPI...)
}

// scoreDay predicts every flow of one day.
func scoreDay(ctx context.Context, src *classify.LakeSource, day time.Time, m *Model, fv int64, size int, res *Result, out *chunkWriter[tablerow.FlowPrediction]) (int, *usageCounts, error) {
	counts := newUsageCounts()
	n := 0
	sni, nosni := m.SNI, m.NoSNI
	if sni == nil {
		sni = nosni
	}
	if nosni == nil {
		nosni = sni
	}
	batches := []*batch{
		{variant: string(sni.Manifest.FeatureSet), bundle: sni, rows: make([]tablerow.FlowFeatures, 0, size)},
		{variant: string(nosni.Manifest.FeatureSet), bundle: nosni, rows: make([]tablerow.FlowFeatures, 0, size)},
	}
	flush := func(b *batch) error {
		if len(b.rows) == 0 {
			return nil
		}
		p, err := b.bundle.Predict(ctx, b.rows)
		if err != nil {
			return err
		}
		man := &b.bundle.Manifest
		for i := range b.rows {
			r := &b.rows[i]
			c := p.Class[i]
			fp := tablerow.FlowPrediction{Day: r.Day, ID: r.ID, Prob: p.Confidence[i], Unknown: p.Unknown[i], Variant: b.variant,
				TrueApp: r.App, TrueCategory: r.Category, SNIDomain: r.SNIDomain, JA3Bucket: r.JA3Bucket, Bytes: flowBytes(r),
				ModelName: m.Name, ModelVersion: m.Version, FeaturesVersion: fv}
			if !fp.Unknown {
				fp.App, fp.Category = man.Classes[c], man.Categories[c]
			}
			counts.add(&fp, man.Classes[c], man.Categories[c])
			if err := out.add(ctx, fp); err != nil {
				return err
			}
			n++
		}
		b.rows = b.rows[:0]
		return nil
	}
	err := src.Scan(ctx, day, day, func(r *tablerow.FlowFeatures) error {
		useSNI, ech := hasSNI(r)
		b := batches[1]
		if useSNI {
			b = batches[0]
			res.Variants.SNI++
		} else {
			res.Variants.NoSNI++
			if ech {
				res.Variants.ECH++
			}
		}
		b.add(r)
		if len(b.rows) == size {
			return flush(b)
		}
		return nil
	})
	if err == nil {
		err = errors.Join(flush(batches[0]), flush(batches[1]))
	}
	if err != nil {
		return 0, nil, fmt.Errorf("serve: day %s: %w", day.Format(cesnet.DayLayout), err)
	}
	return n, counts, nil
}

// predictionFileRows bounds the rows of one flow_predictions data file
// (and the predictions held in memory).
const predictionFileRows = 200000

// chunkWriter writes one day's rows as data files of at most size rows
// and commits them in one replace-where commit of the day's partition, so
// a day of any size is never held in memory whole.
type chunkWriter[T any] struct {
	t    *lakehouse.Table
	w    *lakehouse.Writer[T]
	rv   int64
	part map[string]string
	rows []T
	adds []lakehouse.Add
}

func newChunkWriter[T any](ctx context.Context, t *lakehouse.Table, day string, size int) (*chunkWriter[T], error) {
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	w, err := lakehouse.NewWriter[T](ctx, t)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return &chunkWriter[T]{t: t, w: w, rv: snap.Version, part: map[string]string{"day": day}, rows: make([]T, 0, size)}, nil
}

func (c *chunkWriter[T]) add(ctx context.Context, r T) error {
	c.rows = append(c.rows, r)
	if len(c.rows) == cap(c.rows) {
		return c.flush(ctx)
	}
	return nil
}

func (c *chunkWriter[T]) flush(ctx context.Context) error {
	if len(c.rows) == 0 {
		return nil
	}
	a, err := c.w.WriteDataFile(ctx, c.part, c.rows)
	if err != nil {
		return err
	}
	c.adds = append(c.adds, a...)
	c.rows = c.rows[:0]
	return nil
}

// commit writes the last rows and replaces the day's partition with the
// files written (nothing when txn was committed before).
func (c *chunkWriter[T]) commit(ctx context.Context, txn *lakehouse.Txn) (lakehouse.CommitResult, error) {
	if err := c.flush(ctx); err != nil {
		return lakehouse.CommitResult{}, err
	}
	return c.t.Commit(ctx, lakehouse.Commit{Mode: lakehouse.ModeReplaceWhere, Adds: c.adds,
		Partitions: []map[string]string{c.part}, Txn: txn, ReadVersion: &c.rv})
}

// flowBytes recovers the flow's bytes both ways from its log1p features.
func flowBytes(r *tablerow.FlowFeatures) int64 {
	return int64(math.Round(math.Expm1(float64(r.Stats[0])) + math.Expm1(float64(r.Stats[1]))))
}

// appCount accumulates one predicted app's usage.
type appCount struct {
	category      string
	flows, bytes  int64
	confidence    float64
	unknownTopApp int64 // flows whose top class is the app, flagged unknown
}

// usageCounts accumulates the usage of one day (or, added up, of a run).
type usageCounts struct {
	apps     map[string]*appCount
	truth    map[string]int64
	flows    int64
	labelled int64
	unknown  int64
}

func newUsageCounts() *usageCounts {
	return &usageCounts{apps: map[string]*appCount{}, truth: map[string]int64{}}
}

func (u *usageCounts) app(name, category string) *appCount {
	a := u.apps[name]
	if a == nil {
		a = &appCount{category: category}
		u.apps[name] = a
	}
	return a
}

func (u *usageCounts) add(p *tablerow.FlowPrediction, top, topCategory string) {
	u.flows++
	if p.TrueApp != "" {
		u.labelled++
		u.truth[p.TrueApp]++
	}
	if p.Unknown {
		u.unknown++
		u.app(top, topCategory).unknownTopApp++
		a := u.app(UnknownApp, UnknownApp)
		a.flows++
		a.bytes += p.Bytes
		a.confidence += float64(p.Prob)
		return
	}
	a := u.app(p.App, p.Category)
	a.flows++
	a.bytes += p.Bytes
	a.confidence += float64(p.Prob)
}

// addAll adds o's counts.
func (u *usageCounts) addAll(o *usageCounts) {
	if u.apps == nil {
		*u = *newUsageCounts()
	}
	u.flows += o.flows
	u.labelled += o.labelled
	u.unknown += o.unknown
	for k, v := range o.truth {
		u.truth[k] += v
	}
	for k, v := range o.apps {
		a := u.app(k, v.category)
		a.flows += v.flows
		a.bytes += v.bytes
		a.confidence += v.confidence
		a.unknownTopApp += v.unknownTopApp
	}
}

// rows renders the day's app_usage_daily rows, sorted by app.
func (u *usageCounts) rows(day string, m *Model, fv int64) []tablerow.AppUsageDaily {
	var out []tablerow.AppUsageDaily
	for _, name := range sortedKeys(u.apps) {
		a := u.apps[name]
		if a.flows == 0 && a.unknownTopApp == 0 {
			continue
		}
		r := tablerow.AppUsageDaily{Day: day, App: name, Category: a.category, Flows: a.flows, Bytes: a.bytes,
			Share: ratio(a.flows, u.flows), TrueShare: -1, ModelName: m.Name, ModelVersion: m.Version, FeaturesVersion: fv}
		if a.flows > 0 {
			r.MeanConfidence = a.confidence / float64(a.flows)
		}
		if name == UnknownApp {
			r.UnknownShare = 1
		} else {
			r.UnknownShare = ratio(a.unknownTopApp, a.flows+a.unknownTopApp)
		}
		if u.labelled > 0 {
			r.TrueShare = ratio(u.truth[name], u.labelled)
		}
		out = append(out, r)
	}
	return out
}

// shareMAE returns the mean absolute share error over the apps predicted
// or labelled, and over the top apps by true share. Flows flagged unknown
// count for no app, so they lower the predicted shares.
func (u *usageCounts) shareMAE(top int) (classify.Num, classify.Num) {
	nan := classify.Num(math.NaN())
	if u.labelled == 0 || u.flows == 0 {
		return nan, nan
	}
	apps := map[string]bool{}
	for a := range u.truth {
		apps[a] = true
	}
	for a, c := range u.apps {
		if a != UnknownApp && c.flows > 0 {
			apps[a] = true
		}
	}
	errOf := func(a string) float64 {
		var pred int64
		if c := u.apps[a]; c != nil {
			pred = c.flows
		}
		return math.Abs(ratio(pred, u.flows) - ratio(u.truth[a], u.labelled))
	}
	var sum float64
	for a := range apps {
		sum += errOf(a)
	}
	byTruth := sortedKeys(u.truth)
	slices.SortStableFunc(byTruth, func(a, b string) int { return int(u.truth[b] - u.truth[a]) })
	byTruth = byTruth[:min(top, len(byTruth))]
	var topSum float64
	for _, a := range byTruth {
		topSum += errOf(a)
	}
	return classify.Num(sum / float64(len(apps))), classify.Num(topSum / float64(len(byTruth)))
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
