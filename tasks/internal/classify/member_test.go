package classify

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify/classifytest"
	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// Every member: probabilities sum to 1, it learns the synthetic apps, and a
// saved member predicts exactly as the trained one.
func TestMembersFitSaveLoad(t *testing.T) {
	ctx := context.Background()
	apps := classifytest.Apps(12)
	rows, y := labelled(21, apps, 1500, classifytest.Options{})
	vrows, vy := labelled(22, apps, 400, classifytest.Options{})
	cfg := MemberConfig{XGB: XGBConfig{Rounds: 10, Threads: 1}, Linear: LinearConfig{Epochs: 4},
		LSTM: LSTMConfig{Net: seqnet.LSTMConfig{Units: 32}, Train: seqnet.TrainConfig{MaxEpochs: 6, BatchSize: 64, LearnRate: 1e-2, Seed: 1}},
		MM:   MMConfig{Net: seqnet.MMConfig{Conv1: 16, Conv2: 16, MLP: 32, Shared: 32}, Train: seqnet.TrainConfig{MaxEpochs: 6, BatchSize: 64, Seed: 1}}}
	for _, tc := range []struct {
		kind string
		fs   FeatureSet
	}{{"xgb", FeaturesNoSNI}, {"xgb-hier", FeaturesNoSNI}, {"xgb-hier", FeaturesSNI}, {"linear", FeaturesNoSNI}, {"linear", FeaturesSNI}, {"lstm", FeaturesNoSNI},
		{"mmcesnet", FeaturesNoSNI}} {
		kind := tc.kind
		tr, in, err := FitTransforms(rows, y, apps, TransformConfig{FeatureSet: tc.fs})
		if err != nil {
			t.Fatal(err)
		}
		val := tr.NewInputs(vrows, vy)
		if g, _ := categoryGroups(tr.Categories); len(g) < 3 {
			t.Fatalf("categories %v: the hierarchy test needs several", g)
		}
		t.Run(kind+"/"+string(tc.fs), func(t *testing.T) {
			m, err := NewMember(kind, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if err := m.Fit(ctx, in, val, nil); err != nil {
				t.Fatal(err)
			}
			p, err := m.PredictProba(ctx, val)
			if err != nil {
				t.Fatal(err)
			}
			k := len(apps)
			for r := range val.Len() {
				var s float64
				for _, v := range p[r*k : (r+1)*k] {
					s += float64(v)
				}
				if math.Abs(s-1) > 1e-4 {
					t.Fatalf("row %d: probabilities sum to %v", r, s)
				}
			}
			if f1 := macroF1(argmaxRows(p, k), vy, k); f1 < 0.6 {
				t.Errorf("validation macro-F1 %.3f: member learned little", f1)
			}
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(kind, "xgb") {
				// Both tree members explain themselves in the same shape.
				var imp Importance
				if err := readJSON(filepath.Join(dir, ImportanceFile), &imp); err != nil {
					t.Fatal(err)
				}
				if len(imp.Features) == 0 || imp.Features[0].Gain < imp.Features[len(imp.Features)-1].Gain || len(imp.PerCategory) < 2 {
					t.Errorf("importance: %d features (want by gain, highest first), %d categories", len(imp.Features), len(imp.PerCategory))
				}
				for cat, g := range imp.PerCategory {
					if len(g) == 0 || len(g) > perCategoryTop {
						t.Errorf("importance of %s: %d features", cat, len(g))
					}
				}
			}
			back, err := LoadMember(kind, dir, tr)
			if err != nil {
				t.Fatal(err)
			}
			defer back.Close()
			q, err := back.PredictProba(ctx, tr.NewInputs(vrows, nil))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(p, q); d != "" {
				t.Errorf("loaded member predicts differently:\n%s", d)
			}
		})
	}
}

func TestLoadMemberRejectsMismatch(t *testing.T) {
	ctx := context.Background()
	apps := classifytest.Apps(4)
	rows, y := labelled(23, apps, 300, classifytest.Options{})
	_, in, err := FitTransforms(rows, y, apps, TransformConfig{FeatureSet: FeaturesNoSNI})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := FitTransforms(rows, y, apps, TransformConfig{FeatureSet: FeaturesSNI})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"xgb", "xgb-hier", "linear"} {
		m, _ := NewMember(kind, MemberConfig{XGB: XGBConfig{Rounds: 2, Threads: 1}, Linear: LinearConfig{Epochs: 1}})
		if err := m.Fit(ctx, in, nil, nil); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := m.Save(dir); err != nil {
			t.Fatal(err)
		}
		m.Close()
		if _, err := LoadMember(kind, dir, other); err == nil {
			t.Errorf("%s: a no-SNI member loaded with SNI transforms", kind)
		}
	}
	if _, err := NewMember("forest", MemberConfig{}); err == nil {
		t.Error("unknown member kind accepted")
	}
}
