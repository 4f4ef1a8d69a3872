package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/catalog"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/mlflowclient"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
	"github.com/telcotraffic/telcotraffic/tasks/internal/tracking"
)

// Names the replay reads from MLflow (the DAGs' settings).
const (
	ClassifierModel    = "telco-service-classifier"
	ForecastExperiment = "telco-traffic-forecast"
	tagDecision        = tracking.TagPromotionPrefix + "decision"
	tagForecastDate    = "telcotraffic.forecast.run_date"
)

// MeasureConfig says what Measure reads.
type MeasureConfig struct {
	Lake, Raw string // lake root; raw root with manifest.json
	MLflowURI string
	Model     string // registered classifier (default ClassifierModel)
	// MaxRowsPerWeek and Seed sample each week's flows (classify defaults
	// when 0).
	MaxRowsPerWeek int
	Seed           uint64
	Progress       io.Writer
}

// Measured is the per-week table and its totals.
type Measured struct {
	Weeks                                              []tablerow.ReplayWeek
	Retrains, DriftRetrains, Promotions, FalseRetrains int64
	FalseRetrainsGlobal                                int64 // drift retrains with no exporter update or peering change that week or the week before
	PromotionsTagged                                   int64 // promoted versions carrying their flow_features Delta version
	AfterWeek                                          string
	FrozenAfter, LoopAfter                             float64 // mean no-SNI macro-F1 over the weeks from AfterWeek
}

// version is one registered classifier version as the replay sees it.
type version struct {
	mv       *mlflowclient.ModelVersion
	n        int
	window   string // its evaluation (last test) week: it learned from weeks before and on it
	promoted bool
	drift    bool
}

// Measure scores, for each week after the first champion's evaluation
// window, the frozen model (the first champion) and the loop's champion of
// that week (the newest promoted version whose evaluation window is before
// the week, what a live deployment had) on the week's flows (no-SNI
// bundles), and gathers the week's forecast MASE, drift alert days,
// retrains and promotions from the lake and MLflow.
func Measure(ctx context.Context, c MeasureConfig) (*Measured, error) {
	if c.Model == "" {
		c.Model = ClassifierModel
	}
	out := c.Progress
	if out == nil {
		out = io.Discard
	}
	mc, err := mlflowclient.New(c.MLflowURI)
	if err != nil {
		return nil, err
	}
	man, err := readManifest(c.Raw)
	if err != nil {
		return nil, err
	}
	src, err := classify.OpenLakeSource(ctx, c.Lake, catalog.Latest, storage.Options{})
	if err != nil {
		return nil, err
	}
	days, err := src.Days(ctx)
	if err != nil {
		return nil, err
	}
	var labels []string
	for _, w := range classify.Weeks(days) {
		labels = append(labels, w.Label)
	}
	index := map[string]int{}
	for i, l := range labels {
		index[l] = i
	}
	versions, err := listVersions(ctx, mc, c.Model)
	if err != nil {
		return nil, err
	}
	m := &Measured{FrozenAfter: math.NaN(), LoopAfter: math.NaN()}
	var frozen *version
	for _, v := range versions {
		if v.promoted && frozen == nil {
			frozen = v
		}
	}
	if frozen == nil {
		return m, nil // no champion ever: nothing to compare
	}
	rows := map[string]*tablerow.ReplayWeek{}
	var weeks []string
	for _, l := range labels {
		if l > frozen.window {
			weeks = append(weeks, l)
			rows[l] = &tablerow.ReplayWeek{Week: l, FrozenVersion: frozen.mv.Version, FrozenMacroF1NoSNI: math.NaN(), FrozenAccuracy: math.NaN(),
				LoopMacroF1NoSNI: math.NaN(), LoopAccuracy: math.NaN(), ForecastMASE: math.NaN()}
		}
	}
	// The loop's champion of each week.
	byChamp := map[*version][]string{}
	for _, w := range weeks {
		var champ *version
		for _, v := range versions {
			if v.promoted && v.window < w {
				champ = v
			}
		}
		rows[w].LoopVersion = champ.mv.Version
		byChamp[champ] = append(byChamp[champ], w)
	}
	score := func(v *version, ws []string, set func(*tablerow.ReplayWeek, classify.WeekReport)) error {
		fmt.Fprintf(out, "replay: scoring %s version %s on %s\n", c.Model, v.mv.Version, strings.Join(ws, ","))
		rep, err := evaluate(ctx, mc, src, v.mv, ws, c)
		if err != nil {
			return err
		}
		for _, vr := range rep.Variants {
			if vr.FeatureSet != classify.FeaturesNoSNI {
				continue
			}
			for _, wr := range vr.Weeks {
				if r, ok := rows[wr.Week]; ok {
					set(r, wr)
				}
			}
		}
		return nil
	}
	if len(weeks) > 0 {
		if err := score(frozen, weeks, func(r *tablerow.ReplayWeek, wr classify.WeekReport) {
			r.FrozenMacroF1NoSNI, r.FrozenAccuracy, r.Flows = wr.Ensemble.MacroF1, wr.Ensemble.Accuracy, int64(wr.Flows)
		}); err != nil {
			return nil, err
		}
	}
	for _, v := range versions {
		if ws := byChamp[v]; len(ws) > 0 {
			if err := score(v, ws, func(r *tablerow.ReplayWeek, wr classify.WeekReport) {
				r.LoopMacroF1NoSNI, r.LoopAccuracy = wr.Ensemble.MacroF1, wr.Ensemble.Accuracy
			}); err != nil {
				return nil, err
			}
		}
	}
	// Retrains and promotions, by the week they were trained in (the week
	// after their evaluation window).
	events := eventWeeks(man)
	global := map[string]bool{}
	for _, e := range man.Events {
		if e.InRange && (e.Kind == synth.KindExporterUpdate || e.Kind == synth.KindPeeringChange) {
			global[e.Week] = true
		}
	}
	for _, v := range versions {
		i, ok := index[v.window]
		if !ok || i+1 >= len(labels) {
			continue
		}
		w := labels[i+1]
		m.Retrains++
		if v.drift {
			m.DriftRetrains++
		}
		if v.promoted {
			m.Promotions++
			if _, ok := v.mv.Tag(tracking.TableTag(classify.FeaturesTable)); ok {
				m.PromotionsTagged++
			}
		}
		// A drift retrain is false when no scripted change started in its
		// week or the week before; "global" counts only the changes of
		// every flow (exporter update, peering change), since the
		// generator scripts some per-app change in almost every week.
		falseRetrain := v.drift && len(events[w]) == 0 && len(events[labels[i]]) == 0
		if v.drift && !global[w] && !global[labels[i]] {
			m.FalseRetrainsGlobal++
		}
		if falseRetrain {
			m.FalseRetrains++
		}
		if r, ok := rows[w]; ok {
			r.Retrains++
			if v.drift {
				r.DriftRetrains++
			}
			if v.promoted {
				r.Promotions++
			}
			if falseRetrain {
				r.FalseRetrains++
			}
		}
	}
	for w, evs := range events {
		if r, ok := rows[w]; ok {
			r.Events = strings.Join(evs, ",")
		}
	}
	if err := forecastMASE(ctx, mc, rows); err != nil {
		return nil, err
	}
	if err := driftAlerts(ctx, c.Lake, rows); err != nil {
		return nil, err
	}
	for _, w := range weeks {
		m.Weeks = append(m.Weeks, *rows[w])
	}
	// The weeks from the exporter update on (else the last third).
	m.AfterWeek = ""
	for _, e := range man.Events {
		if e.Kind == synth.KindExporterUpdate && e.InRange {
			m.AfterWeek = e.Week
		}
	}
	if m.AfterWeek == "" && len(weeks) > 0 {
		m.AfterWeek = weeks[len(weeks)-max(1, len(weeks)/3)]
	}
	var fz, lp []float64
	for _, r := range m.Weeks {
		if r.Week >= m.AfterWeek {
			fz, lp = append(fz, r.FrozenMacroF1NoSNI), append(lp, r.LoopMacroF1NoSNI)
		}
	}
	m.FrozenAfter, m.LoopAfter = mean(fz), mean(lp)
	return m, nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func readManifest(raw string) (*synth.Manifest, error) {
	p := filepath.Join(raw, synth.ManifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	var m synth.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("replay: %s: %w", p, err)
	}
	return &m, nil
}

// eventWeeks lists the manifest's in-range changes by the week they start.
func eventWeeks(m *synth.Manifest) map[string][]string {
	out := map[string][]string{}
	for _, e := range m.Events {
		if !e.InRange {
			continue
		}
		w := e.Week
		if d, err := time.Parse(time.DateOnly, e.From); err == nil {
			w = cesnet.WeekLabel(d)
		}
		k := e.Kind
		if e.App != "" {
			k += ":" + e.App
		}
		out[w] = append(out[w], k)
	}
	return out
}

func listVersions(ctx context.Context, c *mlflowclient.Client, name string) ([]*version, error) {
	var vs []*version
	for mv, err := range c.ModelVersions.Search(ctx, &mlflowclient.ModelVersionSearchOptions{Filter: "name = '" + name + "'"}) {
		if errors.Is(err, mlflowclient.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("replay: versions of %s: %w", name, err)
		}
		n, _ := strconv.Atoi(mv.Version)
		v := &version{mv: mv, n: n}
		// The window the version was trained and first evaluated on is
		// the tag of its own training run: promote re-scores a champion
		// on newer weeks and moves the version's tag with it.
		v.window, _ = mv.Tag(tracking.TagEvalWindow)
		if mv.RunID != "" {
			run, err := c.Runs.Get(ctx, mv.RunID)
			if err != nil {
				return nil, fmt.Errorf("replay: run %s of %s version %s: %w", mv.RunID, name, mv.Version, err)
			}
			if w, ok := run.Data.Tag(tracking.TagEvalWindow); ok && w != "" {
				v.window = w
			}
		}
		// A window of held-out flows ("2022-W10/held-out") is a week the
		// version also learned from: it scores the weeks after it.
		v.window = strings.TrimSuffix(v.window, classify.HeldOutSuffix)
		d, _ := mv.Tag(tagDecision)
		v.promoted = d == string(tracking.FirstChampion) || d == string(tracking.Promoted)
		r, _ := mv.Tag("reason")
		v.drift = r == "drift"
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].n < vs[j].n })
	return vs, nil
}

// evaluate scores a version's no-SNI bundle on weeks.
func evaluate(ctx context.Context, c *mlflowclient.Client, src classify.Source, mv *mlflowclient.ModelVersion, weeks []string, mc MeasureConfig) (*classify.Report, error) {
	tmp, err := os.MkdirTemp("", "tt-replay-model-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "model")
	if _, err := tracking.DownloadVersion(ctx, c, mv, dir); err != nil {
		return nil, err
	}
	model := dir
	if _, err := os.Stat(filepath.Join(dir, string(classify.FeaturesNoSNI))); err == nil {
		model = filepath.Join(dir, string(classify.FeaturesNoSNI))
	}
	cfg := classify.DefaultEvalConfig()
	cfg.Models, cfg.Weeks, cfg.Out = []string{model}, weeks, filepath.Join(tmp, "evaluation")
	if mc.MaxRowsPerWeek > 0 {
		cfg.MaxRowsPerWeek = mc.MaxRowsPerWeek
	}
	if mc.Seed > 0 {
		cfg.Seed = mc.Seed
	}
	rep, err := classify.Evaluate(ctx, src, cfg, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("replay: evaluate %s version %s on %v: %w", mv.Name, mv.Version, weeks, err)
	}
	return rep, nil
}

// forecastMASE sets each week's mean backtest MASE of the forecast runs
// made in it.
func forecastMASE(ctx context.Context, c *mlflowclient.Client, rows map[string]*tablerow.ReplayWeek) error {
	exp, err := c.Experiments.GetByName(ctx, ForecastExperiment)
	if errors.Is(err, mlflowclient.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	sums := map[string][]float64{}
	for run, err := range c.Runs.Search(ctx, &mlflowclient.RunSearchOptions{ExperimentIDs: []string{exp.ID}}) {
		if err != nil {
			return fmt.Errorf("replay: forecast runs: %w", err)
		}
		day, ok := run.Data.Tag(tagForecastDate)
		v, okm := run.Data.Metric("mase")
		if !ok || !okm {
			continue
		}
		d, err := time.Parse(time.DateOnly, day)
		if err != nil {
			continue
		}
		w := cesnet.WeekLabel(d)
		sums[w] = append(sums[w], v)
	}
	for w, xs := range sums {
		if r, ok := rows[w]; ok {
			r.ForecastMASE = mean(xs)
		}
	}
	return nil
}

// driftAlerts sets each week's number of days with a drift alert.
func driftAlerts(ctx context.Context, lake string, rows map[string]*tablerow.ReplayWeek) error {
	t, snap, err := catalog.DriftMetrics.OpenAt(ctx, lake, catalog.Latest, storage.Options{}, lakehouse.Options{})
	if errors.Is(err, lakehouse.ErrNotTable) {
		return nil
	}
	if err != nil {
		return err
	}
	days := map[string]bool{}
	for r, err := range lakehouse.Rows[tablerow.DriftMetric](ctx, t, snap) {
		if err != nil {
			return err
		}
		if r.Alert {
			days[r.RunDate] = true
		}
	}
	for day := range days {
		d, err := time.Parse(time.DateOnly, day)
		if err != nil {
			continue
		}
		if r, ok := rows[cesnet.WeekLabel(d)]; ok {
			r.DriftAlertDays++
		}
	}
	return nil
}

// WriteWeeks replaces the replay_weekly table's rows with rows.
func WriteWeeks(ctx context.Context, lake string, rows []tablerow.ReplayWeek) error {
	t, err := catalog.OpenOrCreate[tablerow.ReplayWeek](ctx, catalog.ReplayWeekly, lake, storage.Options{}, lakehouse.Options{})
	if err != nil {
		return err
	}
	if _, err := lakehouse.Write(ctx, t, rows, lakehouse.WriteOptions{Mode: lakehouse.ModeOverwrite}); err != nil {
		return fmt.Errorf("replay: %s: %w", catalog.ReplayWeekly.Name, err)
	}
	return nil
}

// countRows sums the rows of flows and rejects at their latest versions
// (the files' numRecords statistics).
func countRows(ctx context.Context, lake string) (flows, rejects int64, err error) {
	for _, x := range []struct {
		t catalog.Table
		n *int64
	}{{catalog.Flows, &flows}, {catalog.Rejects, &rejects}} {
		_, snap, err := x.t.OpenAt(ctx, lake, catalog.Latest, storage.Options{}, lakehouse.Options{})
		if errors.Is(err, lakehouse.ErrNotTable) {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		for _, a := range snap.Files() {
			var st struct {
				NumRecords *int64 `json:"numRecords"`
			}
			if err := json.Unmarshal([]byte(a.Stats), &st); err != nil || st.NumRecords == nil {
				return 0, 0, fmt.Errorf("replay: %s: file %s has no numRecords statistics", x.t.Name, a.Path)
			}
			*x.n += *st.NumRecords
		}
	}
	return flows, rejects, nil
}
