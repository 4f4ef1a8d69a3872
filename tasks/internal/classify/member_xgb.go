package classify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/xgb"
)

// XGBConfig sets the XGBoost members (flat and hierarchical). Zero fields
// take the defaults.
//
// Prediction cost grows with the number of trees a flow runs through, and
// multi:softprob grows one tree per class per round: a flat model over ~150
// services runs ~150 trees per round (see XGBHierMember for the cheaper
// hierarchy). Rounds stop early when the validation loss stops improving.
type XGBConfig struct {
	Rounds          int     // maximum boosting rounds; default 50
	EarlyStop       int     // rounds without a better validation mlogloss; default 5
	Eta             float64 // default 0.3
	MaxDepth        int     // default 7
	MinChildWeight  float64 // default 1
	Subsample       float64 // default 0.8
	ColsampleByTree float64 // default 0.8
	MaxBin          int     // default 64
	Threads         int     // cores for training and prediction; 0: all
	Seed            int64
	// ClassWeightPower tempers the inverse-frequency class weights
	// (n/(K·n_c))^power, capped at MaxClassWeight; defaults 0.5 and 10. A
	// negative power trains without class weights (every row weighs 1).
	ClassWeightPower float64
	MaxClassWeight   float64
}

func (c XGBConfig) withDefaults() XGBConfig {
	if c.Rounds == 0 {
		c.Rounds = 50
	}
	if c.EarlyStop == 0 {
		c.EarlyStop = 5
	}
	if c.Eta == 0 {
		c.Eta = 0.3
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = 7
	}
	if c.MinChildWeight == 0 {
		c.MinChildWeight = 1
	}
	if c.Subsample == 0 {
		c.Subsample = 0.8
	}
	if c.ColsampleByTree == 0 {
		c.ColsampleByTree = 0.8
	}
	if c.MaxBin == 0 {
		c.MaxBin = 64
	}
	if c.ClassWeightPower == 0 {
		c.ClassWeightPower = 0.5
	}
	if c.MaxClassWeight == 0 {
		c.MaxClassWeight = 10
	}
	return c
}

// XGBMember is the flat gradient-boosted trees member over the tree view
// (multi:softprob over all services, hist): one XGBoost model file that
// Python's xgboost and MLflow's xgboost flavor load as is.
type XGBMember struct {
	Config XGBConfig
	b      *xgb.Booster
	k      int
	info   xgbInfo
	// categories[c] is class c's service category (for importance).
	categories []string
}

type xgbInfo struct {
	Config        XGBConfig `json:"config"`
	Rounds        int       `json:"rounds"`
	BestIteration int       `json:"best_iteration"`
	TrainRows     int       `json:"train_rows"`
	ValRows       int       `json:"val_rows"`
	Seconds       float64   `json:"seconds"`
	Features      []string  `json:"features"`
	XGBoost       string    `json:"xgboost_version"`
	// ValidHistory is the validation mlogloss of every boosting round
	// (train logs it to MLflow as a metric history).
	ValidHistory []float64 `json:"valid_mlogloss,omitempty"`
}

// Kind implements Member.
func (m *XGBMember) Kind() string { return "xgb" }

func (c XGBConfig) params(k int) xgb.Params {
	return xgb.Params{
		Objective: xgb.MultiSoftprob, NumClass: k, Eta: c.Eta, MaxDepth: c.MaxDepth,
		MinChildWeight: c.MinChildWeight, Subsample: c.Subsample, ColsampleByTree: c.ColsampleByTree,
		MaxBin: c.MaxBin, NumThreads: c.Threads, Seed: c.Seed, EvalMetrics: []string{"mlogloss"},
	}
}

// fitBooster trains a k-class booster on x with labels y (class-weighted),
// early-stopping on (vx, vy) when vx has rows. tag names it in progress.
// hist is the validation mlogloss of every round (nil without validation).
func fitBooster(ctx context.Context, c XGBConfig, tag string, x xgb.Matrix, y []int, k int, vx xgb.Matrix, vy []int, names []string, progress io.Writer) (b *xgb.Booster, hist []float64, err error) {
	t0 := time.Now()
	var w []float64
	if c.ClassWeightPower > 0 {
		w = classWeights(y, k, c.ClassWeightPower, c.MaxClassWeight)
	}
	dtrain, err := newDMatrix(x, y, w, names, c.Threads)
	if err != nil {
		return nil, nil, err
	}
	defer dtrain.Close()
	opts := xgb.TrainOptions{Rounds: c.Rounds, OnRound: func(r xgb.Round) error {
		for _, x := range r.Metrics {
			if x.Eval == "valid" && x.Name == "mlogloss" {
				hist = append(hist, x.Value)
			}
		}
		if progress != nil && (r.Iteration%5 == 4 || r.Iteration == 0) {
			var ms []string
			for _, x := range r.Metrics {
				ms = append(ms, fmt.Sprintf("%s-%s %.4f", x.Eval, x.Name, x.Value))
			}
			fmt.Fprintf(progress, "classify: %s round %d %s (%.0fs)\n", tag, r.Iteration+1, strings.Join(ms, " "), time.Since(t0).Seconds())
		}
		return nil
	}}
	if vx.Rows > 0 {
		dval, err := newDMatrix(vx, vy, nil, names, c.Threads)
		if err != nil {
			return nil, nil, err
		}
		defer dval.Close()
		opts.Evals = []xgb.Eval{{Name: "valid", Data: dval}}
		opts.EarlyStoppingRounds = c.EarlyStop
	}
	b, err = xgb.Train(ctx, c.params(k), dtrain, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("classify: %s: %w", tag, err)
	}
	return b, hist, nil
}

// Fit implements Member.
func (m *XGBMember) Fit(ctx context.Context, train, val *Inputs, progress io.Writer) error {
	c := m.Config.withDefaults()
	labels, err := labelsOf(train, "xgb train")
	if err != nil {
		return err
	}
	t0 := time.Now()
	m.k = train.Classes()
	m.categories = train.t.Categories
	names := train.t.TreeNames()
	var vx xgb.Matrix
	var vl []int
	if val != nil && val.Len() > 0 {
		if vl, err = labelsOf(val, "xgb validation"); err != nil {
			return err
		}
		vx = val.Tree()
	}
	b, hist, err := fitBooster(ctx, c, "xgb", train.Tree(), labels, m.k, vx, vl, names, progress)
	if err != nil {
		return err
	}
	m.b = b
	rounds, err := b.BoostedRounds()
	if err != nil {
		return fmt.Errorf("classify: xgb: %w", err)
	}
	best, _, _ := b.BestIteration()
	m.info = xgbInfo{Config: c, Rounds: rounds, BestIteration: best, TrainRows: train.Len(), ValRows: vx.Rows,
		Seconds: time.Since(t0).Seconds(), Features: names, XGBoost: xgb.Version(), ValidHistory: hist}
	if progress != nil {
		fmt.Fprintf(progress, "classify: xgb: %d rounds (%d trees) on %d rows in %.1fs\n", rounds, rounds*m.k, train.Len(), m.info.Seconds)
	}
	return nil
}

func newDMatrix(x xgb.Matrix, labels []int, w []float64, names []string, threads int) (*xgb.DMatrix, error) {
	d, err := xgb.NewDMatrix(x, threads)
	if err != nil {
		return nil, fmt.Errorf("classify: xgb: %w", err)
	}
	y := make([]float32, len(labels))
	var rw []float32
	if w != nil {
		rw = make([]float32, len(labels))
	}
	for i, l := range labels {
		y[i] = float32(l)
		if w != nil {
			rw[i] = float32(w[l])
		}
	}
	err = d.SetLabels(y)
	if err == nil && rw != nil {
		err = d.SetWeights(rw)
	}
	if err == nil {
		err = d.SetFeatureNames(names)
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("classify: xgb: %w", err)
	}
	return d, nil
}

// PredictProba implements Member.
func (m *XGBMember) PredictProba(_ context.Context, in *Inputs) ([]float32, error) {
	if m.b == nil {
		return nil, fmt.Errorf("classify: xgb: not trained")
	}
	if in.Len() == 0 {
		return nil, nil
	}
	p, err := m.b.Predict(in.Tree(), xgb.PredictOptions{})
	if err != nil {
		return nil, fmt.Errorf("classify: xgb: %w", err)
	}
	if p.Cols != m.k || p.Rows != in.Len() {
		return nil, fmt.Errorf("classify: xgb: predicted %d×%d, want %d×%d", p.Rows, p.Cols, in.Len(), m.k)
	}
	return p.Values, nil
}

// Booster returns the trained model (nil before Fit).
func (m *XGBMember) Booster() *xgb.Booster { return m.b }

// Save implements Member: model.json in XGBoost's JSON format (Python's
// xgboost.Booster(model_file=...) loads it), the gain importance
// (ImportanceFile) and info.json.
func (m *XGBMember) Save(dir string) error {
	if m.b == nil {
		return fmt.Errorf("classify: xgb: not trained")
	}
	path := filepath.Join(dir, "model.json")
	if err := m.b.SaveFile(path); err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	// SaveFile writes through a private temporary file.
	if err := os.Chmod(path, 0o644); err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	imp, err := m.importance()
	if err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, ImportanceFile), imp); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "info.json"), m.info)
}

func loadXGB(dir string, t *Transforms) (Member, error) {
	m := &XGBMember{}
	if err := readJSON(filepath.Join(dir, "info.json"), &m.info); err != nil {
		return nil, err
	}
	m.Config = m.info.Config
	b, err := xgb.LoadBoosterFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	m.b, m.k, m.categories = b, len(t.Classes), t.Categories
	if n, err := b.NumFeatures(); err != nil || n != len(t.TreeNames()) {
		b.Close()
		return nil, fmt.Errorf("classify: xgb model in %s has %d features, transforms make %d (%v)", dir, n, len(t.TreeNames()), err)
	}
	return m, nil
}

// SetThreads implements Member.
func (m *XGBMember) SetThreads(n int) error {
	if m.b == nil {
		return nil
	}
	return m.b.SetParam("nthread", strconv.Itoa(n))
}

// Close implements Member.
func (m *XGBMember) Close() error {
	if m.b == nil {
		return nil
	}
	return m.b.Close()
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("classify: %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("classify: %s: %w", path, err)
	}
	return nil
}

// describe names the settings that matter for accuracy and cost.
func (c XGBConfig) describe() string {
	c = c.withDefaults()
	cw := "no class weights"
	if c.ClassWeightPower > 0 {
		cw = fmt.Sprintf("class weight ^%g", c.ClassWeightPower)
	}
	return fmt.Sprintf("eta %g, depth %d, %d bins, ≤%d rounds, early stop %d, %s",
		c.Eta, c.MaxDepth, c.MaxBin, c.Rounds, c.EarlyStop, cw)
}
