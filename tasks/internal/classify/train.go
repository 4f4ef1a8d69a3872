package classify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// TrainConfig configures Train.
type TrainConfig struct {
	// Out is the bundle root, a local folder or an object store URI
	// (s3://bucket/prefix): one bundle folder per feature set (Out/sni,
	// Out/no-sni).
	Out string `json:"-"`
	// Store configures S3 access for Out (the task's main fills it from the
	// environment).
	Store       storage.Options `json:"-"`
	FeatureSets []FeatureSet    `json:"feature_sets"`
	// Members are the member kinds of every bundle. Empty: the default of
	// each feature set (see DefaultMembers).
	Members []string    `json:"members"`
	Split   SplitConfig `json:"split"`
	// MaxTrainRows and MaxValRows bound the reservoir samples of the
	// windows; defaults 60000 and 20000.
	MaxTrainRows int `json:"max_train_rows"`
	MaxValRows   int `json:"max_val_rows"`
	// MaxRowsPerApp caps each app's training rows (a reservoir per app), so
	// the budget goes to the tail instead of the few largest services; 0:
	// a uniform sample. Validation stays uniform.
	MaxRowsPerApp int `json:"max_rows_per_app"`
	// MinClassRows is the fewest training rows an app needs to be a class;
	// default 20.
	MinClassRows int `json:"min_class_rows"`
	// HoldoutFrac of the apps (whole provider groups) are left out of
	// training to measure unknown-service detection; 0: none.
	HoldoutFrac float64 `json:"holdout_frac"`
	// HoldoutApps, when set, are the held-out apps instead of a seeded
	// choice (HoldoutFrac is then ignored), so runs on different samples
	// hold out the same services. The choice is recorded in the bundle.
	HoldoutApps []string `json:"holdout_apps,omitempty"`
	// OpenSetFrac of the apps (whole provider groups, apart from the
	// held-out apps) are left out of training: their validation flows
	// teach the known-vs-unknown heads and choose the open-set method
	// (Reject.Method, by validation TPR); 0: none, the highest probability
	// decides.
	OpenSetFrac float64 `json:"open_set_frac"`
	RejectFPR   float64 `json:"reject_fpr"` // default 0.05
	StackStep   float64 `json:"stack_step"` // default 0.05
	Seed        uint64  `json:"seed"`
	// Transform.FeatureSet is set per bundle.
	Transform TransformConfig `json:"transform"`
	// Member configs are recorded in each member's own files.
	Member MemberConfig `json:"-"`
	// Force trains even when Out already holds the bundles of every feature
	// set trained on the same data (see ErrAlreadyTrained).
	Force bool `json:"-"`
	// Last is what the last registered model learned from; when this run
	// would train on the same flow_features version and leave the same
	// test window, Train returns ErrAlreadyTrained (unless Force). Nil:
	// only Out is checked.
	Last *LastTraining `json:"-"`
}

// LastTraining names the data and test window of a model trained before.
type LastTraining struct {
	Model   string // e.g. "telco-service-classifier version 7", for messages
	Version int64  // flow_features version it learned from
	Window  string // its evaluation window (first test week); "" : any
}

// ErrAlreadyTrained is returned by Train, unless TrainConfig.Force, when the
// output folder already holds the bundles of every feature set trained on
// the data the source names (the same Delta table version, or the same raw
// files).
var ErrAlreadyTrained = errors.New("classify: train: already trained on this data")

func (c TrainConfig) withDefaults() TrainConfig {
	if len(c.FeatureSets) == 0 {
		c.FeatureSets = []FeatureSet{FeaturesSNI, FeaturesNoSNI}
	}
	if c.MaxTrainRows == 0 {
		c.MaxTrainRows = 60000
	}
	if c.MaxValRows == 0 {
		c.MaxValRows = 20000
	}
	if c.MinClassRows == 0 {
		c.MinClassRows = 20
	}
	if c.RejectFPR == 0 {
		c.RejectFPR = 0.05
	}
	if c.StackStep == 0 {
		c.StackStep = 0.05
	}
	if c.Member.XGB.Seed == 0 {
		c.Member.XGB.Seed = int64(c.Seed)
	}
	if c.Member.Seqnet.Train.Seed == 0 {
		c.Member.Seqnet.Train.Seed = c.Seed
	}
	if c.Member.LSTM.Train.Seed == 0 {
		c.Member.LSTM.Train.Seed = c.Seed
	}
	if c.Member.MM.Train.Seed == 0 {
		c.Member.MM.Train.Seed = c.Seed
	}
	if c.Member.Linear.Seed == 0 {
		c.Member.Linear.Seed = c.Seed
	}
	if c.Transform.Seed == 0 {
		c.Transform.Seed = c.Seed
	}
	fs := c.Transform.FeatureSet // set per bundle
	c.Transform = c.Transform.withDefaults()
	c.Transform.FeatureSet = fs
	return c
}

// DefaultMembers are the members of a bundle of feature set fs when
// TrainConfig.Members is empty: the hierarchy and the sequence net. The flat
// tree member (XGBMember) won validation macro-F1 without SNI at the tuned
// settings on the demo's first window (0.877 vs 0.865) but lost it at the
// demo's settings on its second (0.877 vs 0.880; test 0.866 vs 0.886), and
// predicts ~5× slower (1.2 k vs ~5 k flows/s/core): it stays opt-in
// (--members xgb,seqnet).
//
// The mm-CESNET member is opt-in too (--members xgb-hier,mmcesnet): on the
// shared demo's first window (make bench-stack, no SNI, 15,900 rows, 10
// epochs) it scores test macro-F1 0.637 against the CNN's 0.586 and the
// stack over it 0.868 (+0.9 points over the trees) against 0.862 (+0.3),
// but it trains ~12× longer than the CNN (about 100 CPU-s for 17,000 rows ×
// 10 epochs, as PyTorch's): as the no-SNI default it took the demo's two
// trainings from ~3 to ~15 minutes on the loaded machine, for
// macro_f1_no_sni 0.864 and ensemble_gain_no_sni +0.15 points in its second
// week (+2.57 in the first).
func DefaultMembers(fs FeatureSet) []string {
	return []string{"xgb-hier", "seqnet"}
}

// membersFor returns the members of feature set fs's bundle.
func (c TrainConfig) membersFor(fs FeatureSet) []string {
	if len(c.Members) > 0 {
		return c.Members
	}
	return DefaultMembers(fs)
}

// DefaultTrainConfig is the training configuration the train task starts
// from: its flags' defaults, written here once, so a Go caller that starts
// from it trains the model the binary trains. (A zero TrainConfig samples
// uniformly and holds no apps out: a different model.)
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		Split:         SplitConfig{TrainWeeks: 4, ValWeeks: 1},
		MaxTrainRows:  60000,
		MaxValRows:    20000,
		MaxRowsPerApp: 500,
		MinClassRows:  20,
		HoldoutFrac:   0.1,
		OpenSetFrac:   0.1,
		Seed:          1,
		Member: MemberConfig{
			// Chosen on the demo's no-SNI rows by validation macro-F1 (see
			// BenchmarkPeers -peers-tune and the package doc): eta 0.1 with
			// early stopping on the validation week beat eta 0.3 × 50
			// rounds by 4.4 points, 256 bins beat 64 by 2.4, depth 6 ≈ 8,
			// class weights ^0.5 beat none by 0.2 (flat) to 0.4 (hierarchy).
			XGB:    XGBConfig{Rounds: 400, EarlyStop: 20, Eta: 0.1, MaxDepth: 6, MaxBin: 256},
			Seqnet: SeqnetConfig{MaxRows: 30000, Train: seqnet.TrainConfig{MaxEpochs: 10}},
		},
	}
}

// BundleResult summarises one trained bundle.
type BundleResult struct {
	FeatureSet FeatureSet         `json:"feature_set"`
	Dir        string             `json:"dir"`
	ValMacroF1 map[string]float64 `json:"val_macro_f1"`
	Weights    []float64          `json:"weights"`
	Pool       string             `json:"pool"`
	Fallback   string             `json:"fallback,omitempty"`
	Threshold  float32            `json:"reject_threshold"`
	// RejectMethod is the open-set method chosen by validation;
	// RejectValTPR the validation unknown TPR of every method fitted.
	RejectMethod string             `json:"reject_method,omitempty"`
	RejectValTPR map[string]float64 `json:"reject_val_tpr,omitempty"`
}

// TrainResult is the train task's result.
type TrainResult struct {
	Bundles   []BundleResult `json:"bundles"`
	Classes   int            `json:"classes"`
	TrainRows int            `json:"train_rows"`
	ValRows   int            `json:"val_rows"`
	Holdout   int            `json:"holdout_apps"`
	AsOf      string         `json:"as_of,omitempty"`
	Train     []string       `json:"train_weeks"`
	Val       []string       `json:"val_weeks"`
	// Test lists the test weeks the bundles leave for evaluate (with an
	// as-of day; else evaluate takes the weeks after validation).
	Test    []string    `json:"test_weeks"`
	Data    DataVersion `json:"data"`
	Seconds float64     `json:"seconds"`
	// MLflowRunID and MLflowRunURL name the MLflow run the train task
	// logged the bundles to (with --experiment; evaluate --run-id and
	// register --run-id take it).
	MLflowRunID  string `json:"mlflow_run_id,omitempty"`
	MLflowRunURL string `json:"mlflow_run_url,omitempty"`
}

// Train samples the training and validation windows of src, fits one bundle
// per feature set and saves each under cfg.Out.
func Train(ctx context.Context, src Source, cfg TrainConfig, progress io.Writer) (*TrainResult, error) {
	if progress == nil {
		progress = io.Discard
	}
	cfg = cfg.withDefaults()
	if cfg.Out == "" {
		return nil, errors.New("classify: train: no output folder")
	}
	t0 := time.Now()
	if !cfg.Force {
		if err := checkTrained(ctx, cfg.Out, cfg.Store, cfg.FeatureSets, src.Version()); err != nil {
			return nil, err
		}
	}
	days, err := src.Days(ctx)
	if err != nil {
		return nil, err
	}
	split, err := SplitWeeks(Weeks(days), cfg.Split)
	if err != nil {
		return nil, err
	}
	if cfg.Split.AsOf == "" && !cfg.Split.HeldOutRows {
		split.Test = nil // decided at evaluation
	}
	if l, v := cfg.Last, src.Version().Version; !cfg.Force && l != nil && v != nil && *v == l.Version &&
		(l.Window == "" || len(split.Test) == 0 || split.TestWindow(cfg.Split) == l.Window) {
		return nil, fmt.Errorf("%w: %s learned from %s version %d with test window %s, as this run would (--force retrains)",
			ErrAlreadyTrained, l.Model, FeaturesTable, l.Version, orNone(l.Window))
	}
	fmt.Fprintf(progress, "classify: as of %s: train weeks %s, validation %s, test %s\n", orNone(cfg.Split.AsOf), labels(split.Train), labels(split.Val), orNone(strings.Join(labels(split.Test), ",")))

	prof := drift.NewProfiler(drift.ProfileConfig{Seed: cfg.Seed}) // reference.json beside each bundle
	d, err := sampleTraining(ctx, profiledSource{src, prof}, src, split, cfg)
	if err != nil {
		return nil, err
	}
	trainRows, trainLabels, valRows, valLabels := d.trainRows, d.trainLabels, d.valRows, d.valLabels
	classes, holdout, rare := d.classes, d.holdout, d.rare
	fmt.Fprintf(progress, "classify: %d training rows, %d validation rows, %d classes, held-out apps %s, %d rare apps (%.0fs)\n",
		len(trainRows), len(valRows), len(classes), fmtApps(holdout), len(rare), time.Since(t0).Seconds())
	fmt.Fprintf(progress, "classify: open-set apps (the unknown-service head's examples, %d validation rows): %s\n", len(d.openRows), fmtApps(d.openApps))

	res := &TrainResult{Classes: len(classes), TrainRows: len(trainRows), ValRows: len(valRows), Holdout: len(holdout),
		AsOf: cfg.Split.AsOf, Train: labels(split.Train), Val: labels(split.Val), Test: labels(split.Test), Data: src.Version()}
	for _, fs := range cfg.FeatureSets {
		t1 := time.Now()
		tc := cfg.Transform
		tc.FeatureSet = fs
		tr, trainIn, err := FitTransforms(trainRows, trainLabels, classes, tc)
		if err != nil {
			return nil, err
		}
		valIn := tr.NewInputs(valRows, valLabels)
		members := cfg.membersFor(fs)
		b := &Bundle{Transforms: tr}
		var probs [][]float32
		val := map[string]float64{}
		for _, kind := range members {
			fmt.Fprintf(progress, "classify: [%s] fitting %s\n", fs, kind)
			m, err := NewMember(kind, cfg.Member)
			if err != nil {
				return nil, err
			}
			b.Members = append(b.Members, m)
			if err := m.Fit(ctx, trainIn, valIn, progress); err != nil {
				b.Close()
				return nil, err
			}
			p, err := m.PredictProba(ctx, valIn)
			if err != nil {
				b.Close()
				return nil, err
			}
			probs = append(probs, p)
			val[kind] = macroF1(argmaxRows(p, len(classes)), valLabels, len(classes))
		}
		st, err := FitStacking(members, probs, valLabels, len(classes), cfg.StackStep)
		if err != nil {
			b.Close()
			return nil, err
		}
		st.FitLogit(probs, valLabels, len(classes), cfg.Seed)
		b.Stacking = st
		ens, err := st.Combine(probs, len(classes), nil)
		if err != nil {
			b.Close()
			return nil, err
		}
		val["ensemble"] = st.ValMacroF1
		rej := FitReject(ens, len(classes), cfg.RejectFPR)
		if len(d.openRows) > 0 {
			if rej, err = b.fitRejectMethods(ctx, probs, ens, valRows, tr.NewInputs(d.openRows, nil), trainRows, cfg.RejectFPR); err != nil {
				b.Close()
				return nil, err
			}
		}
		b.Manifest = Manifest{
			Format: BundleFormat, Created: time.Now().UTC(), FeatureSet: fs, Classes: classes, Categories: tr.Categories,
			Members: members, Reject: rej, Data: res.Data, Split: split, TrainRows: len(trainRows), ValRows: len(valRows),
			Holdout: nonNil(holdout), Rare: nonNil(rare), OpenSetApps: nonNil(d.openApps), Val: val, Seconds: time.Since(t1).Seconds(), Config: cfg,
		}
		dir := storage.JoinURI(cfg.Out, string(fs))
		err = b.SaveTo(ctx, dir, cfg.Store)
		b.Close()
		if err == nil {
			err = saveReference(ctx, dir, cfg.Store, prof, fs, classes, ens, valLabels)
		}
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "classify: [%s] validation macro-F1 %s; stacking %s %v%s; reject below %.3f (%s); saved %s (%.0fs)\n",
			fs, fmtScores(val, members), st.Pool, st.Weights, fallbackNote(st), rej.Threshold, fmtRejectMethods(rej), dir, time.Since(t1).Seconds())
		br := BundleResult{FeatureSet: fs, Dir: dir, ValMacroF1: val, Weights: st.Weights,
			Pool: st.Pool, Fallback: st.Fallback, Threshold: rej.Threshold, RejectMethod: rej.method().Method}
		if len(rej.Methods) > 0 {
			br.RejectValTPR = map[string]float64{}
			for _, m := range rej.Methods {
				br.RejectValTPR[m.Method] = m.ValTPR
			}
		}
		res.Bundles = append(res.Bundles, br)
	}
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}

// checkTrained returns ErrAlreadyTrained when out holds a bundle of every
// feature set trained on data.
func checkTrained(ctx context.Context, out string, opts storage.Options, sets []FeatureSet, data DataVersion) error {
	for _, fs := range sets {
		m, err := readManifest(ctx, storage.JoinURI(out, string(fs)), opts)
		if err != nil || !m.Data.Equal(data) {
			return nil
		}
	}
	at := data.URI
	if data.Version != nil {
		at = fmt.Sprintf("%s@%d", at, *data.Version)
	}
	return fmt.Errorf("%w: %s holds the %s bundles of %s data %s (--force retrains)", ErrAlreadyTrained, out, fmtSets(sets), data.Kind, at)
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtSets(sets []FeatureSet) string {
	s := make([]string, len(sets))
	for i, f := range sets {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func fallbackNote(s Stacking) string {
	if s.Fallback == "" {
		return ""
	}
	return " (fallback to " + s.Fallback + ")"
}

func fmtScores(v map[string]float64, members []string) string {
	var parts []string
	for _, m := range append(slices.Clone(members), "ensemble") {
		parts = append(parts, fmt.Sprintf("%s %.4f", m, v[m]))
	}
	return strings.Join(parts, ", ")
}

func labels(ws []Week) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.Label
	}
	return out
}

// keepClasses keeps the rows of apps in index and returns their labels.
func keepClasses(rows []tablerow.FlowFeatures, index map[string]int) ([]tablerow.FlowFeatures, []int) {
	out := rows[:0]
	var y []int
	for _, r := range rows {
		if c, ok := index[r.App]; ok {
			out = append(out, r)
			y = append(y, c)
		}
	}
	return out, y
}

// categoriesOf returns each class's category: the one its training rows
// carry, else the dataset's app table.
func categoriesOf(classes []string, rows []tablerow.FlowFeatures) []string {
	cat := map[string]string{}
	for i := range rows {
		if _, ok := cat[rows[i].App]; !ok && rows[i].Category != "" {
			cat[rows[i].App] = rows[i].Category
		}
	}
	out := make([]string, len(classes))
	for i, c := range classes {
		out[i] = cat[c]
		if out[i] == "" {
			if a, ok := cesnet.LookupApp(c); ok {
				out[i] = a.Category
			} else {
				out[i] = "unknown"
			}
		}
	}
	return out
}

// trainingData is what Train learns from: the sampled training and
// validation rows of the known classes with their labels, the classes, the
// held-out apps (unknown services) and the rare apps (too few rows).
type trainingData struct {
	trainRows, valRows     []tablerow.FlowFeatures
	trainLabels, valLabels []int
	classes, holdout, rare []string
	// openApps are the open-set apps (TrainConfig.OpenSetFrac), openRows
	// their validation-window rows (the head's unknown examples).
	openApps []string
	openRows []tablerow.FlowFeatures
}

// sampleTraining draws the training sample from trainSrc (the source, or a
// wrapper that profiles what it reads) and the validation sample from src,
// and picks the classes and the held-out apps, as Train does.
func sampleTraining(ctx context.Context, trainSrc, src Source, split Split, cfg TrainConfig) (*trainingData, error) {
	trainRows, seen, err := sampleWindow(ctx, trainSrc, split.Train, cfg.MaxTrainRows, cfg.MaxRowsPerApp, cfg.Seed, trainKeep(split, cfg.Split))
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for i := range trainRows {
		count[trainRows[i].App]++
	}
	var eligible, rare []string
	for app := range seen {
		if count[app] >= cfg.MinClassRows {
			eligible = append(eligible, app)
		} else {
			rare = append(rare, app)
		}
	}
	slices.Sort(eligible)
	slices.Sort(rare)
	// The seeded choice is made among every app of the window, not only
	// those with enough sampled rows, so it does not move with the sample
	// size.
	all := make([]string, 0, len(seen))
	for app := range seen {
		all = append(all, app)
	}
	slices.Sort(all)
	holdout := cfg.HoldoutApps
	if len(holdout) == 0 {
		holdout = chooseHoldout(all, cfg.HoldoutFrac, cfg.Seed)
	}
	var rest []string
	for _, a := range eligible {
		if !slices.Contains(holdout, a) {
			rest = append(rest, a)
		}
	}
	var openApps []string
	if cfg.OpenSetFrac > 0 {
		// Provider groups disjoint from the held-out apps' groups, so the
		// head learns from other providers than those it is measured on.
		taken := map[string]bool{}
		for _, a := range holdout {
			taken[providerOf(a)] = true
		}
		var free []string
		for _, a := range rest {
			if !taken[providerOf(a)] {
				free = append(free, a)
			}
		}
		openApps = chooseHoldout(free, cfg.OpenSetFrac*float64(len(eligible))/float64(max(1, len(free))), cfg.Seed+17)
	}
	var classes []string
	for _, a := range rest {
		if !slices.Contains(openApps, a) {
			classes = append(classes, a)
		}
	}
	if len(classes) < 2 {
		return nil, fmt.Errorf("classify: train: %d apps with ≥ %d sampled rows; need 2", len(classes), cfg.MinClassRows)
	}
	index := map[string]int{}
	for i, c := range classes {
		index[c] = i
	}
	trainRows, trainLabels := keepClasses(trainRows, index)
	// In held-out mode validation is the validation bucket of its weeks.
	valFlow := func(r *tablerow.FlowFeatures) bool { return !cfg.Split.HeldOutRows || RowBucket(r.ID) == valBucket }
	valRows, _, err := sampleWindow(ctx, src, split.Val, cfg.MaxValRows, 0, cfg.Seed+1000, func(r *tablerow.FlowFeatures) bool {
		_, ok := index[r.App]
		return ok && valFlow(r)
	})
	if err != nil {
		return nil, err
	}
	valRows, valLabels := keepClasses(valRows, index)
	var openRows []tablerow.FlowFeatures
	if len(openApps) > 0 {
		openRows, _, err = sampleWindow(ctx, src, split.Val, max(1, cfg.MaxValRows/4), 0, cfg.Seed+2000, func(r *tablerow.FlowFeatures) bool {
			return slices.Contains(openApps, r.App) && valFlow(r)
		})
		if err != nil {
			return nil, err
		}
		if err := checkRows(openRows); err != nil {
			return nil, err
		}
	}
	if err := checkRows(trainRows); err != nil {
		return nil, err
	}
	if err := checkRows(valRows); err != nil {
		return nil, err
	}
	if len(valRows) == 0 {
		return nil, errors.New("classify: train: no validation rows of the training classes")
	}
	return &trainingData{trainRows: trainRows, valRows: valRows, trainLabels: trainLabels, valLabels: valLabels,
		classes: classes, holdout: holdout, rare: rare, openApps: openApps, openRows: openRows}, nil
}
