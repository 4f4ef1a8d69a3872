package classify

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/telcotraffic/telcotraffic/tasks/internal/xgb"
)

// ImportanceFile is the tree member's explanation in its bundle folder (and
// so in the MLflow run that logs the bundle).
const ImportanceFile = "importance.json"

// Importance explains a tree member: the total split gain of each feature
// over all its boosters, highest first, and per service category the top
// features of the booster that tells that category's services apart (the
// category booster's own top features under "(categories)").
type Importance struct {
	Kind        string                   `json:"kind"` // "total_gain"
	Features    []FeatureGain            `json:"features"`
	PerCategory map[string][]FeatureGain `json:"per_category"`
}

// FeatureGain is one feature's importance; Share is its part of the total.
type FeatureGain struct {
	Feature string  `json:"feature"`
	Gain    float64 `json:"gain"`
	Share   float64 `json:"share"`
}

// perCategoryTop is how many features each category lists.
const perCategoryTop = 10

// gainOf returns a booster's features by total gain, highest first.
func gainOf(b *xgb.Booster) ([]FeatureGain, error) {
	fs, err := b.FeatureImportance(xgb.TotalGain)
	if err != nil {
		return nil, fmt.Errorf("classify: importance: %w", err)
	}
	out := make([]FeatureGain, len(fs))
	var total float64
	for i, f := range fs {
		out[i] = FeatureGain{Feature: f.Feature, Gain: f.Score}
		total += f.Score
	}
	for i := range out {
		if total > 0 {
			out[i].Share = out[i].Gain / total
		}
	}
	sortGains(out)
	return out, nil
}

func sortGains(g []FeatureGain) {
	slices.SortStableFunc(g, func(a, b FeatureGain) int {
		return cmp.Or(cmp.Compare(b.Gain, a.Gain), cmp.Compare(a.Feature, b.Feature))
	})
}

// importance explains the hierarchy.
func (m *XGBHierMember) importance() (*Importance, error) {
	imp := &Importance{Kind: string(xgb.TotalGain), PerCategory: map[string][]FeatureGain{}}
	sum := map[string]float64{}
	add := func(name string, b *xgb.Booster) error {
		g, err := gainOf(b)
		if err != nil {
			return err
		}
		for _, f := range g {
			sum[f.Feature] += f.Gain
		}
		imp.PerCategory[name] = g[:min(len(g), perCategoryTop)]
		return nil
	}
	if m.cat != nil {
		if err := add("(categories)", m.cat); err != nil {
			return nil, err
		}
	}
	for g, b := range m.apps {
		if b != nil {
			if err := add(m.info.Categories[g], b); err != nil {
				return nil, err
			}
		}
	}
	var total float64
	for _, v := range sum {
		total += v
	}
	for f, v := range sum {
		imp.Features = append(imp.Features, FeatureGain{Feature: f, Gain: v, Share: v / max(total, 1e-300)})
	}
	sortGains(imp.Features)
	return imp, nil
}

// importance explains the flat member: XGBoost's total gain per feature,
// and per service category the gain of the trees of its services (a
// softprob model grows one tree per class and round; tree_info names the
// class), so the file has the hierarchy's shape.
func (m *XGBMember) importance() (*Importance, error) {
	all, err := gainOf(m.b)
	if err != nil {
		return nil, err
	}
	imp := &Importance{Kind: string(xgb.TotalGain), Features: all, PerCategory: map[string][]FeatureGain{}}
	raw, err := m.b.Save(xgb.JSON)
	if err != nil {
		return nil, fmt.Errorf("classify: importance: %w", err)
	}
	var model struct {
		Learner struct {
			FeatureNames    []string `json:"feature_names"`
			GradientBooster struct {
				Model struct {
					Trees []struct {
						Split []int     `json:"split_indices"`
						Left  []int     `json:"left_children"`
						Gain  []float64 `json:"loss_changes"`
					} `json:"trees"`
					TreeInfo []int `json:"tree_info"`
				} `json:"model"`
			} `json:"gradient_booster"`
		} `json:"learner"`
	}
	if err := json.Unmarshal(raw, &model); err != nil {
		return nil, fmt.Errorf("classify: importance: model JSON: %w", err)
	}
	l := &model.Learner
	gb := &l.GradientBooster.Model
	if len(gb.TreeInfo) != len(gb.Trees) {
		return nil, fmt.Errorf("classify: importance: %d trees, %d tree_info entries", len(gb.Trees), len(gb.TreeInfo))
	}
	perCat := map[string]map[string]float64{}
	for ti, t := range gb.Trees {
		cl := gb.TreeInfo[ti]
		if cl < 0 || cl >= len(m.categories) {
			return nil, fmt.Errorf("classify: importance: tree %d of class %d, model has %d classes", ti, cl, len(m.categories))
		}
		cat := m.categories[cl]
		for n, left := range t.Left {
			if left < 0 || n >= len(t.Split) || n >= len(t.Gain) {
				continue // a leaf
			}
			f := t.Split[n]
			if f < 0 || f >= len(l.FeatureNames) {
				return nil, fmt.Errorf("classify: importance: tree %d splits on feature %d of %d", ti, f, len(l.FeatureNames))
			}
			if perCat[cat] == nil {
				perCat[cat] = map[string]float64{}
			}
			perCat[cat][l.FeatureNames[f]] += t.Gain[n]
		}
	}
	for cat, gains := range perCat {
		var g []FeatureGain
		var total float64
		for f, v := range gains {
			g = append(g, FeatureGain{Feature: f, Gain: v})
			total += v
		}
		for i := range g {
			g[i].Share = g[i].Gain / max(total, 1e-300)
		}
		sortGains(g)
		imp.PerCategory[cat] = g[:min(len(g), perCategoryTop)]
	}
	return imp, nil
}
