package classify

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/xgb"
)

// XGBHierMember is the tree member as a two-level hierarchy over the tree
// view: one booster over service categories and one per category over its
// services, with P(service) = P(category) · P(service | category).
//
// multi:softprob grows one tree per class and round, and prediction cost is
// the number of trees a flow runs through. A flow runs the category booster
// and the service boosters of only the categories it gives at least
// MinCategoryProb (always the most probable one); the other categories
// spread their probability by their training priors. With ~23 categories of
// ~7 services that is ~30 trees per round instead of ~150, and each service
// booster trains on its category's rows only, so training is faster too.
type XGBHierMember struct {
	Config XGBConfig
	// MinCategoryProb is the category probability from which a flow runs
	// that category's service booster; default 0.05 (on the generated
	// data 0.02 and 0.05 gave the same macro-F1, 0.05 7 % faster).
	MinCategoryProb float64
	cat             *xgb.Booster   // nil with a single category
	apps            []*xgb.Booster // per category; nil for a single-service category
	info            hierInfo
}

type hierInfo struct {
	Config          XGBConfig `json:"config"`
	MinCategoryProb float64   `json:"min_category_prob"`
	Classes         int       `json:"classes"`
	Categories      []string  `json:"categories"`
	// Members[g] are the class indices of category g; Prior[g] their
	// training shares within it.
	Members [][]int     `json:"members"`
	Prior   [][]float32 `json:"prior"`
	// Rounds of the category booster, then of each category's booster (0:
	// none).
	CategoryRounds int     `json:"category_rounds"`
	Rounds         []int   `json:"rounds"`
	TrainRows      int     `json:"train_rows"`
	ValRows        int     `json:"val_rows"`
	Seconds        float64 `json:"seconds"`
	// SNI: the boosters also see the SNI target encoding (see view).
	SNI     bool   `json:"sni"`
	XGBoost string `json:"xgboost_version"`
	// ValidHistory is the category booster's validation mlogloss of every
	// round (train logs it to MLflow as a metric history).
	ValidHistory []float64 `json:"valid_mlogloss,omitempty"`
}

// Kind implements Member.
func (m *XGBHierMember) Kind() string { return "xgb-hier" }

// view returns the inputs of booster g (-1: the category booster) for rows
// idx of in (nil: all rows): the tree view and, with SNI features, the SNI
// target encoding summed per category (category booster) or of the
// category's own services (service booster g) — the columns a flat
// booster over all services cannot afford.
func (h *hierInfo) view(in *Inputs, g int, idx []int) xgb.Matrix {
	x := in.Tree()
	extra := 0
	if h.SNI {
		extra = len(h.Categories)
		if g >= 0 {
			extra = len(h.Members[g])
		}
	}
	if idx == nil && extra == 0 {
		return x
	}
	n := len(idx)
	if idx == nil {
		n = x.Rows
	}
	cols := x.Cols + extra
	out := xgb.Matrix{Data: make([]float32, n*cols), Rows: n, Cols: cols}
	for i := range n {
		r := i
		if idx != nil {
			r = idx[i]
		}
		row := out.Data[i*cols : (i+1)*cols]
		copy(row, x.Data[r*x.Cols:(r+1)*x.Cols])
		if extra == 0 {
			continue
		}
		te := in.SNIEncoding(r)
		ext := row[x.Cols:]
		if g < 0 {
			for gi, members := range h.Members {
				for _, cl := range members {
					ext[gi] += te[cl]
				}
			}
		} else {
			for j, cl := range h.Members[g] {
				ext[j] = te[cl]
			}
		}
	}
	return out
}

// names returns the column names of booster g's inputs (see view).
func (h *hierInfo) names(t *Transforms, g int) []string {
	names := t.TreeNames()
	if !h.SNI {
		return names
	}
	if g < 0 {
		for _, c := range h.Categories {
			names = append(names, "sni_te_category_"+strings.ReplaceAll(c, " ", "_"))
		}
		return names
	}
	for _, cl := range h.Members[g] {
		names = append(names, "sni_te_"+t.Classes[cl])
	}
	return names
}

// Fit implements Member.
func (m *XGBHierMember) Fit(ctx context.Context, train, val *Inputs, progress io.Writer) error {
	c := m.Config.withDefaults()
	labels, err := labelsOf(train, "xgb-hier train")
	if err != nil {
		return err
	}
	var vl []int
	if val != nil && val.Len() > 0 {
		if vl, err = labelsOf(val, "xgb-hier validation"); err != nil {
			return err
		}
	}
	t0 := time.Now()
	k := train.Classes()
	groups, group := categoryGroups(train.t.Categories)
	h := hierInfo{Config: c, MinCategoryProb: m.MinCategoryProb, Classes: k, Categories: groups,
		Members: make([][]int, len(groups)), Prior: make([][]float32, len(groups)), Rounds: make([]int, len(groups)),
		TrainRows: train.Len(), SNI: train.t.FeatureSet == FeaturesSNI, XGBoost: xgb.Version()}
	if h.MinCategoryProb == 0 {
		h.MinCategoryProb = 0.05
	}
	local := make([]int, k) // class → index within its category
	for cl, g := range group {
		local[cl] = len(h.Members[g])
		h.Members[g] = append(h.Members[g], cl)
	}
	var vx xgb.Matrix
	if vl != nil {
		h.ValRows = val.Len()
	}
	m.apps = make([]*xgb.Booster, len(groups))
	if len(groups) > 1 {
		yc, vyc := make([]int, len(labels)), make([]int, len(vl))
		for i, y := range labels {
			yc[i] = group[y]
		}
		for i, y := range vl {
			vyc[i] = group[y]
		}
		if vl != nil {
			vx = h.view(val, -1, nil)
		}
		if m.cat, h.ValidHistory, err = fitBooster(ctx, c, "xgb-hier categories", h.view(train, -1, nil), yc, len(groups), vx, vyc, h.names(train.t, -1), progress); err != nil {
			return err
		}
		if h.CategoryRounds, err = m.cat.BoostedRounds(); err != nil {
			return fmt.Errorf("classify: xgb-hier: %w", err)
		}
	}
	for g, members := range h.Members {
		var idx, vidx []int
		counts := make([]float32, len(members))
		for i, y := range labels {
			if group[y] == g {
				idx = append(idx, i)
				counts[local[y]]++
			}
		}
		h.Prior[g] = make([]float32, len(members))
		for j, n := range counts {
			h.Prior[g][j] = (n + 1) / (float32(len(idx)) + float32(len(members)))
		}
		if len(members) == 1 {
			continue
		}
		for i, y := range vl {
			if group[y] == g {
				vidx = append(vidx, i)
			}
		}
		y := make([]int, len(idx))
		for i, r := range idx {
			y[i] = local[labels[r]]
		}
		vy := make([]int, len(vidx))
		for i, r := range vidx {
			vy[i] = local[vl[r]]
		}
		var vsub xgb.Matrix
		if len(vidx) > 0 {
			vsub = h.view(val, g, vidx)
		}
		b, _, err := fitBooster(ctx, c, "xgb-hier "+groups[g], h.view(train, g, idx), y, len(members), vsub, vy, h.names(train.t, g), nil)
		if err != nil {
			m.Close()
			return err
		}
		m.apps[g] = b
		if h.Rounds[g], err = b.BoostedRounds(); err != nil {
			return fmt.Errorf("classify: xgb-hier: %w", err)
		}
	}
	h.Seconds = time.Since(t0).Seconds()
	m.info = h
	if progress != nil {
		fmt.Fprintf(progress, "classify: xgb-hier: %d categories (%d rounds), service boosters with %d trees in all, on %d rows in %.1fs\n",
			len(groups), h.CategoryRounds, m.serviceTrees(), train.Len(), h.Seconds)
	}
	return nil
}

func (m *XGBHierMember) serviceTrees() int {
	n := 0
	for g, r := range m.info.Rounds {
		n += r * len(m.info.Members[g])
	}
	return n
}

// PredictProba implements Member.
func (m *XGBHierMember) PredictProba(_ context.Context, in *Inputs) ([]float32, error) {
	h := &m.info
	if h.Members == nil {
		return nil, fmt.Errorf("classify: xgb-hier: not trained")
	}
	n, k, ng := in.Len(), h.Classes, len(h.Categories)
	if n == 0 {
		return nil, nil
	}
	pc := make([]float32, n*ng)
	if m.cat != nil {
		p, err := m.cat.Predict(h.view(in, -1, nil), xgb.PredictOptions{})
		if err != nil {
			return nil, fmt.Errorf("classify: xgb-hier: %w", err)
		}
		if p.Rows != n || p.Cols != ng {
			return nil, fmt.Errorf("classify: xgb-hier: category booster predicted %d×%d, want %d×%d", p.Rows, p.Cols, n, ng)
		}
		pc = p.Values
	} else {
		for i := range pc {
			pc[i] = 1
		}
	}
	top := argmaxRows(pc, ng)
	out := make([]float32, n*k)
	for g, members := range h.Members {
		var idx []int
		for r := range n {
			pg := pc[r*ng+g]
			if m.apps[g] != nil && (pg >= float32(h.MinCategoryProb) || top[r] == g) {
				idx = append(idx, r)
				continue
			}
			for j, cl := range members {
				out[r*k+cl] = pg * h.Prior[g][j]
			}
		}
		if len(idx) == 0 {
			continue
		}
		p, err := m.apps[g].Predict(h.view(in, g, idx), xgb.PredictOptions{})
		if err != nil {
			return nil, fmt.Errorf("classify: xgb-hier: %s: %w", h.Categories[g], err)
		}
		if p.Cols != len(members) {
			return nil, fmt.Errorf("classify: xgb-hier: %s booster predicted %d classes, want %d", h.Categories[g], p.Cols, len(members))
		}
		for i, r := range idx {
			pg := pc[r*ng+g]
			for j, cl := range members {
				out[r*k+cl] = pg * p.Values[i*len(members)+j]
			}
		}
	}
	return out, nil
}

func hierFile(g int) string { return "category-" + strconv.Itoa(g) + ".json" }

// Save implements Member: category.json (the category booster), one
// category-<g>.json per category with several services, all in XGBoost's
// JSON format, and info.json with the hierarchy.
func (m *XGBHierMember) Save(dir string) error {
	if m.info.Members == nil {
		return fmt.Errorf("classify: xgb-hier: not trained")
	}
	save := func(b *xgb.Booster, name string) error {
		p := filepath.Join(dir, name)
		if err := b.SaveFile(p); err != nil {
			return fmt.Errorf("classify: %w", err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			return fmt.Errorf("classify: %w", err)
		}
		return nil
	}
	if m.cat != nil {
		if err := save(m.cat, "category.json"); err != nil {
			return err
		}
	}
	for g, b := range m.apps {
		if b != nil {
			if err := save(b, hierFile(g)); err != nil {
				return err
			}
		}
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

func loadXGBHier(dir string, t *Transforms) (Member, error) {
	m := &XGBHierMember{}
	if err := readJSON(filepath.Join(dir, "info.json"), &m.info); err != nil {
		return nil, err
	}
	h := &m.info
	groups, group := categoryGroups(t.Categories)
	if h.Classes != len(t.Classes) || !slices.Equal(h.Categories, groups) || len(h.Members) != len(groups) ||
		len(h.Prior) != len(groups) || len(h.Rounds) != len(groups) {
		return nil, fmt.Errorf("classify: xgb-hier model in %s does not match its transforms", dir)
	}
	for g, members := range h.Members {
		if len(h.Prior[g]) != len(members) {
			return nil, fmt.Errorf("classify: xgb-hier model in %s: category %d has %d priors for %d services", dir, g, len(h.Prior[g]), len(members))
		}
		for _, cl := range members {
			if cl < 0 || cl >= len(group) || group[cl] != g {
				return nil, fmt.Errorf("classify: xgb-hier model in %s: class %d is not in category %s", dir, cl, groups[g])
			}
		}
	}
	m.Config, m.MinCategoryProb = h.Config, h.MinCategoryProb
	m.apps = make([]*xgb.Booster, len(groups))
	load := func(name string) (*xgb.Booster, error) {
		b, err := xgb.LoadBoosterFile(filepath.Join(dir, name))
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("classify: %w", err)
		}
		return b, nil
	}
	var err error
	if len(groups) > 1 {
		if m.cat, err = load("category.json"); err != nil {
			return nil, err
		}
	}
	for g, members := range h.Members {
		if len(members) > 1 {
			if m.apps[g], err = load(hierFile(g)); err != nil {
				return nil, err
			}
		}
	}
	if h.SNI != (t.FeatureSet == FeaturesSNI) {
		m.Close()
		return nil, fmt.Errorf("classify: xgb-hier model in %s: SNI inputs %v, transforms %s", dir, h.SNI, t.FeatureSet)
	}
	for g, b := range append([]*xgb.Booster{m.cat}, m.apps...) {
		if b == nil {
			continue
		}
		want := len(h.names(t, g-1))
		if n, err := b.NumFeatures(); err != nil || n != want {
			m.Close()
			return nil, fmt.Errorf("classify: xgb-hier model in %s has %d features, transforms make %d (%v)", dir, n, want, err)
		}
	}
	return m, nil
}

// SetThreads implements Member.
func (m *XGBHierMember) SetThreads(n int) error {
	for _, b := range append([]*xgb.Booster{m.cat}, m.apps...) {
		if b != nil {
			if err := b.SetParam("nthread", strconv.Itoa(n)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close implements Member.
func (m *XGBHierMember) Close() error {
	for _, b := range append([]*xgb.Booster{m.cat}, m.apps...) {
		if b != nil {
			b.Close()
		}
	}
	return nil
}
