package classify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
)

// ErrNoTestWeeks is returned by Evaluate when no week of the data (or of
// EvalConfig.Weeks) follows the bundles' validation window.
var ErrNoTestWeeks = errors.New("classify: evaluate: no weeks after the validation window")

// EvalConfig configures Evaluate.
type EvalConfig struct {
	// Models are bundle folders, or bundle roots holding one folder per
	// feature set (as Train writes them).
	Models []string
	// TestWeeks bounds the weeks after the bundles' validation window that
	// are scored; 0: all.
	TestWeeks int
	// Weeks, if set, are the test weeks scored (week labels), instead of
	// the ones the bundles left: how a champion is scored again on a
	// challenger's later window. They must follow the validation window;
	// a label with HeldOutSuffix scores the week's held-out flows, which
	// no bundle trained with SplitConfig.HeldOutRows has seen.
	Weeks          []string
	MaxRowsPerWeek int     // default 20000
	FPR            float64 // open-set operating point; default 0.05
	Seed           uint64
	// Out is the report folder, a local path or an object store URI
	// (s3://bucket/prefix); empty: no files.
	Out string
	// Store configures S3 access for Models and Out (the task's main fills
	// it from the environment).
	Store storage.Options
}

// DefaultEvalConfig is the evaluation configuration the evaluate task
// starts from (its flags' defaults, written here once).
func DefaultEvalConfig() EvalConfig { return EvalConfig{MaxRowsPerWeek: 20000, Seed: 7} }

// Num is a float that encodes NaN as JSON null.
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(n))
}

// OpenSet holds the unknown-service measures of one test week.
type OpenSet struct {
	Known   int `json:"known_flows"`
	Unknown int `json:"unknown_flows"`
	// TPRAtFPR is the share of unknown flows rejected at the threshold
	// that rejects FPR of this week's known flows (DataZoo's measure).
	FPR      float64 `json:"fpr"`
	TPRAtFPR Num     `json:"tpr_at_fpr"`
	// BundleTPR and BundleFPR are the rates at the bundle's own threshold,
	// fitted on validation (what a deployment sees).
	BundleTPR Num `json:"bundle_threshold_tpr"`
	BundleFPR Num `json:"bundle_threshold_fpr"`
	// Method is the bundle's open-set method; Methods the TPR at FPR of
	// every method the bundle fitted (Reject.Methods), on this week.
	Method  string         `json:"method,omitempty"`
	Methods map[string]Num `json:"methods,omitempty"`
}

// WeekReport scores one test week.
type WeekReport struct {
	Week     string            `json:"week"`
	Flows    int               `json:"flows"`    // sampled
	Excluded int               `json:"excluded"` // rare apps: neither classes nor unknown
	Ensemble Scores            `json:"ensemble"`
	Members  map[string]Scores `json:"members"`
	OpenSet  OpenSet           `json:"open_set"`
}

// VariantReport scores one bundle.
type VariantReport struct {
	FeatureSet FeatureSet `json:"feature_set"`
	Model      string     `json:"model"`
	Members    []string   `json:"members"`
	Stacking   Stacking   `json:"stacking"`
	Classes    int        `json:"classes"`
	Holdout    []string   `json:"holdout_apps"`
	// RejectThreshold is the bundle's open-set threshold (from validation).
	RejectThreshold float32 `json:"reject_threshold"`
	// OpenSetHead: the reject rule scores flows by the known-vs-unknown
	// head instead of the highest probability.
	OpenSetHead bool `json:"open_set_head,omitempty"`
	// RejectMethod is the reject rule's open-set method, RejectValTPR the
	// validation unknown TPR of every method the bundle fitted.
	RejectMethod string             `json:"reject_method,omitempty"`
	RejectValTPR map[string]float64 `json:"reject_val_tpr,omitempty"`
	// TopFeatures are the tree member's 20 features of highest total gain.
	TopFeatures []FeatureGain `json:"top_features,omitempty"`
	Weeks       []WeekReport  `json:"weeks"`
	// First is the first test week in detail: per-class and per-category
	// scores; ConfusionCSV names its confusion matrix file.
	First        Scores `json:"first_week"`
	Category     Scores `json:"first_week_category"`
	ConfusionCSV string `json:"confusion_csv,omitempty"`
	// EnsembleBeatsMembers: the ensemble's macro-F1 in the first test week
	// is above every member's.
	EnsembleBeatsMembers bool `json:"ensemble_beats_members"`

	confusion *Confusion
}

// Summary holds the headline numbers: first test week, ensemble.
type Summary struct {
	TestWeek         string `json:"test_week"`
	Accuracy         Num    `json:"accuracy"`
	MacroF1          Num    `json:"macro_f1"`
	MacroRecall      Num    `json:"macro_recall"`
	MacroF1NoSNI     Num    `json:"macro_f1_no_sni"`
	AccuracyNoSNI    Num    `json:"accuracy_no_sni"`
	UnknownTPR       Num    `json:"unknown_tpr_at_5fpr"`
	UnknownTPRNoSNI  Num    `json:"unknown_tpr_at_5fpr_no_sni"`
	NoSNIEnsembleWin *bool  `json:"no_sni_ensemble_beats_members,omitempty"`
	// EnsembleGainNoSNI is the no-SNI ensemble's macro-F1 minus its best
	// member's on the first test week, in points (×100).
	EnsembleGainNoSNI Num `json:"ensemble_gain_no_sni"`
}

// Report is the evaluation report.
type Report struct {
	Created time.Time   `json:"created"`
	Data    DataVersion `json:"data"`
	// AsOf, TrainWeeks and ValWeeks are the first bundle's training
	// window; Weeks the test weeks scored.
	AsOf       string   `json:"as_of,omitempty"`
	TrainWeeks []string `json:"train_weeks"`
	ValWeeks   []string `json:"val_weeks"`
	Weeks      []string `json:"test_weeks"`
	// HeldOut: only the held-out (test-bucket) flows of Weeks were scored
	// (SplitConfig.HeldOutRows); Summary.TestWeek then has HeldOutSuffix.
	HeldOut  bool            `json:"held_out,omitempty"`
	Summary  Summary         `json:"summary"`
	Variants []VariantReport `json:"variants"`
	Seconds  float64         `json:"seconds"`
}

// expandModels turns bundle roots into their bundle folders.
func expandModels(ctx context.Context, paths []string, opts storage.Options) ([]string, error) {
	var out []string
	for _, p := range paths {
		if _, err := readManifest(ctx, p, opts); err == nil {
			out = append(out, p)
			continue
		}
		found := false
		for _, fs := range []FeatureSet{FeaturesSNI, FeaturesNoSNI} {
			d := storage.JoinURI(p, string(fs))
			if _, err := readManifest(ctx, d, opts); err == nil {
				out, found = append(out, d), true
			}
		}
		if !found {
			return nil, fmt.Errorf("classify: %s holds no bundle (%s)", p, ManifestFile)
		}
	}
	return out, nil
}

// Evaluate scores bundles on the weeks after their validation window.
func Evaluate(ctx context.Context, src Source, cfg EvalConfig, progress io.Writer) (*Report, error) {
	if progress == nil {
		progress = io.Discard
	}
	if cfg.MaxRowsPerWeek == 0 {
		cfg.MaxRowsPerWeek = 20000
	}
	if cfg.FPR == 0 {
		cfg.FPR = 0.05
	}
	t0 := time.Now()
	dirs, err := expandModels(ctx, cfg.Models, cfg.Store)
	if err != nil {
		return nil, err
	}
	var bundles []*Bundle
	defer func() {
		for _, b := range bundles {
			b.Close()
		}
	}()
	// lastVal is the last week a bundle saw flows of that the test may
	// hold: the validation window's, or for a held-out-mode bundle scored
	// on whole weeks its training window's (on held-out flows: none).
	lastVal := ""
	var fixed []string // test weeks the bundles were trained to leave (train --as-of)
	heldOut := false   // score only the held-out (test-bucket) flows of the weeks
	for _, d := range dirs {
		b, err := OpenBundle(ctx, d, cfg.Store)
		if err != nil {
			return nil, err
		}
		bundles = append(bundles, b)
		t := labels(b.Manifest.Split.Test)
		h := b.Manifest.Config.Split.HeldOutRows && len(t) > 0
		if len(cfg.Weeks) > 0 {
			t, h = nil, false
			for _, w := range cfg.Weeks {
				l, ho := splitWindow(w)
				t, h = append(t, l), h || ho
			}
		}
		if len(fixed) > 0 && (!slices.Equal(fixed, t) || h != heldOut) {
			return nil, fmt.Errorf("classify: evaluate: bundles left different test windows: %v and %v", fixed, t)
		}
		fixed, heldOut = t, h
		seen := b.Manifest.Split.Val
		if b.Manifest.Config.Split.HeldOutRows {
			seen = b.Manifest.Split.Train
			if heldOut {
				seen = nil
			}
		}
		for _, w := range seen {
			lastVal = max(lastVal, w.Label)
		}
	}
	days, err := src.Days(ctx)
	if err != nil {
		return nil, err
	}
	var test []Week
	for _, w := range Weeks(days) {
		if len(fixed) > 0 && !slices.Contains(fixed, w.Label) {
			continue
		}
		if w.Label > lastVal && (cfg.TestWeeks == 0 || len(test) < cfg.TestWeeks) {
			test = append(test, w)
		}
	}
	if len(test) == 0 {
		return nil, fmt.Errorf("%w (%s) in the data", ErrNoTestWeeks, lastVal)
	}
	fmt.Fprintf(progress, "classify: evaluating %d bundles on weeks %s\n", len(bundles), labels(test))
	weekRows, err := sampleTestWeeks(ctx, src, test, cfg.MaxRowsPerWeek, cfg.Seed, heldOut)
	if err != nil {
		return nil, err
	}
	for _, rows := range weekRows {
		if err := checkRows(rows); err != nil {
			return nil, err
		}
	}
	first := bundles[0].Manifest
	rep := &Report{Created: time.Now().UTC(), Data: src.Version(), AsOf: first.Config.Split.AsOf,
		TrainWeeks: labels(first.Split.Train), ValWeeks: labels(first.Split.Val), Weeks: labels(test)}
	rep.HeldOut = heldOut
	for i, b := range bundles {
		v, err := evaluateBundle(ctx, b, dirs[i], test, weekRows, cfg.FPR)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "classify: [%s] first test week %s: accuracy %.4f, macro-F1 %.4f, unknown TPR at %.0f%% FPR %s\n",
			v.FeatureSet, test[0].Label, v.First.Accuracy, v.First.MacroF1, 100*cfg.FPR, fmtPct(float64(v.Weeks[0].OpenSet.TPRAtFPR)))
		rep.Variants = append(rep.Variants, v)
	}
	rep.Summary = summarise(rep)
	rep.Seconds = time.Since(t0).Seconds()
	if cfg.Out != "" {
		if err := rep.WriteFiles(ctx, cfg.Out, cfg.Store); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func evaluateBundle(ctx context.Context, b *Bundle, dir string, test []Week, weekRows [][]tablerow.FlowFeatures, fpr float64) (VariantReport, error) {
	man := b.Manifest
	k := len(man.Classes)
	index := map[string]int{}
	for i, c := range man.Classes {
		index[c] = i
	}
	v := VariantReport{FeatureSet: man.FeatureSet, Model: dir, Members: man.Members, Stacking: b.Stacking,
		Classes: k, Holdout: man.Holdout, RejectThreshold: man.Reject.Threshold, OpenSetHead: man.Reject.Head != nil,
		RejectMethod: man.Reject.method().Method}
	for _, m := range man.Reject.Methods {
		if v.RejectValTPR == nil {
			v.RejectValTPR = map[string]float64{}
		}
		v.RejectValTPR[m.Method] = m.ValTPR
	}
	for _, m := range b.Members {
		if h, ok := m.(interface{ importance() (*Importance, error) }); ok {
			imp, err := h.importance()
			if err != nil {
				return v, err
			}
			v.TopFeatures = imp.Features[:min(20, len(imp.Features))]
		}
	}
	for wi, rows := range weekRows {
		labels := make([]int, len(rows))
		wr := WeekReport{Week: test[wi].Label, Flows: len(rows), Members: map[string]Scores{}}
		var keep []int
		for i := range rows {
			c, ok := index[rows[i].App]
			switch {
			case ok:
				labels[i] = c
			case slices.Contains(man.Rare, rows[i].App), slices.Contains(man.OpenSetApps, rows[i].App):
				wr.Excluded++
				continue
			default:
				labels[i] = -1 // an unknown service
			}
			keep = append(keep, i)
		}
		sub := make([]tablerow.FlowFeatures, len(keep))
		subLabels := make([]int, len(keep))
		for j, i := range keep {
			sub[j], subLabels[j] = rows[i], labels[i]
		}
		p, err := b.predict(ctx, b.Transforms.NewInputs(sub, subLabels))
		if err != nil {
			return v, err
		}
		conf := NewConfusion(man.Classes)
		members := make([]*Confusion, len(man.Members))
		preds := make([][]int, len(man.Members))
		for m := range members {
			members[m] = NewConfusion(man.Classes)
			preds[m] = argmaxRows(p.Members[m], k)
		}
		var known, unknown []float32
		var bundleTP, bundleFP int
		for j, y := range subLabels {
			if y < 0 {
				unknown = append(unknown, p.Known[j])
				if p.Unknown[j] {
					bundleTP++
				}
				continue
			}
			known = append(known, p.Known[j])
			if p.Unknown[j] {
				bundleFP++
			}
			conf.Add(y, p.Class[j])
			for m := range members {
				members[m].Add(y, preds[m][j])
			}
		}
		first := wi == 0
		wr.Ensemble = conf.Scores(false)
		for m, kind := range man.Members {
			wr.Members[kind] = members[m].Scores(false)
		}
		tpr, at, _ := TPRAtFPR(known, unknown, fpr)
		wr.OpenSet = OpenSet{Known: len(known), Unknown: len(unknown), FPR: at, TPRAtFPR: Num(tpr),
			BundleTPR: ratio(bundleTP, len(unknown)), BundleFPR: ratio(bundleFP, len(known)), Method: man.Reject.method().Method}
		if wr.OpenSet.Methods, err = methodTPRs(man.Reject, p, k, sub, subLabels, fpr); err != nil {
			return v, err
		}
		v.Weeks = append(v.Weeks, wr)
		if first {
			v.First = conf.Scores(true)
			groups, group := categoryGroups(man.Categories)
			v.Category = conf.Collapse(groups, group).Scores(true)
			v.confusion = conf
			v.EnsembleBeatsMembers = true
			for _, s := range wr.Members {
				if wr.Ensemble.MacroF1 <= s.MacroF1 {
					v.EnsembleBeatsMembers = false
				}
			}
		}
	}
	return v, nil
}

func ratio(a, b int) Num {
	if b == 0 {
		return Num(math.NaN())
	}
	return Num(float64(a) / float64(b))
}

// categoryGroups returns the distinct categories (sorted) and each class's
// index among them.
func categoryGroups(cats []string) ([]string, []int) {
	groups := slices.Clone(cats)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	group := make([]int, len(cats))
	for i, c := range cats {
		group[i], _ = slices.BinarySearch(groups, c)
	}
	return groups, group
}

func summarise(r *Report) Summary {
	nan := Num(math.NaN())
	first := r.Weeks[0]
	if r.HeldOut {
		first += HeldOutSuffix
	}
	s := Summary{TestWeek: first, Accuracy: nan, MacroF1: nan, MacroRecall: nan, MacroF1NoSNI: nan,
		AccuracyNoSNI: nan, UnknownTPR: nan, UnknownTPRNoSNI: nan, EnsembleGainNoSNI: nan}
	for _, v := range r.Variants {
		w := v.Weeks[0]
		switch v.FeatureSet {
		case FeaturesSNI:
			s.Accuracy, s.MacroF1, s.MacroRecall = Num(w.Ensemble.Accuracy), Num(w.Ensemble.MacroF1), Num(w.Ensemble.MacroRecall)
			s.UnknownTPR = w.OpenSet.TPRAtFPR
		case FeaturesNoSNI:
			s.MacroF1NoSNI, s.AccuracyNoSNI = Num(w.Ensemble.MacroF1), Num(w.Ensemble.Accuracy)
			s.UnknownTPRNoSNI = w.OpenSet.TPRAtFPR
			win := v.EnsembleBeatsMembers
			s.NoSNIEnsembleWin = &win
			if len(w.Members) > 0 {
				best := math.Inf(-1)
				for _, m := range w.Members {
					best = math.Max(best, m.MacroF1)
				}
				s.EnsembleGainNoSNI = Num(100 * (w.Ensemble.MacroF1 - best))
			}
		}
	}
	return s
}

// Result is the evaluate task's one-line result: the headline numbers and
// the report's files.
type Result struct {
	Summary
	Report     string `json:"report"`      // report.json
	ReportText string `json:"report_text"` // report.txt
	Weeks      int    `json:"test_weeks"`
}

// Result returns the task result for a report written to dir.
func (r *Report) Result(dir string) Result {
	return Result{Summary: r.Summary, Report: storage.JoinURI(dir, ReportJSON), ReportText: storage.JoinURI(dir, ReportText), Weeks: len(r.Weeks)}
}

// Report file names written by WriteFiles.
const (
	ReportJSON = "report.json"
	ReportText = "report.txt"
)

// WriteFiles writes report.json, report.txt and one confusion matrix CSV
// per variant (first test week) into the folder at uri (a local path or an
// object store URI).
func (r *Report) WriteFiles(ctx context.Context, uri string, opts storage.Options) error {
	put := func(name string, data []byte) error {
		if err := storage.WriteFile(ctx, storage.JoinURI(uri, name), data, opts); err != nil {
			return fmt.Errorf("classify: report: %w", err)
		}
		return nil
	}
	for i := range r.Variants {
		v := &r.Variants[i]
		if v.confusion == nil {
			continue
		}
		v.ConfusionCSV = fmt.Sprintf("confusion_%s.csv", v.FeatureSet)
		var buf bytes.Buffer
		if err := v.confusion.WriteCSV(&buf); err != nil {
			return fmt.Errorf("classify: report: %w", err)
		}
		if err := put(v.ConfusionCSV, buf.Bytes()); err != nil {
			return err
		}
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		return err
	}
	if err := put(ReportText, text.Bytes()); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("classify: report: %w", err)
	}
	return put(ReportJSON, append(b, '\n'))
}
