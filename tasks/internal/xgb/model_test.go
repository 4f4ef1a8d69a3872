package xgb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var featureNames = []string{"pkts", "bytes", "dur", "ppi_mean", "ppi_std", "dir_ratio"}

// trainSmall trains a 4-class model on separable data with named features and
// early stopping; it returns the booster (closed at test end) and validation data.
func trainSmall(t testing.TB) (*Booster, Matrix, []float32) {
	t.Helper()
	xtr, ytr := blobs(20, 1500, 4, len(featureNames), 0.1, 3)
	xva, yva := blobs(21, 500, 4, len(featureNames), 0.1, 3)
	dtr := dmatrix(t, xtr, ytr, nil)
	if err := dtr.SetFeatureNames(featureNames); err != nil {
		t.Fatal(err)
	}
	dva := dmatrix(t, xva, yva, nil)
	b, err := Train(context.Background(), Params{Objective: MultiSoftprob, NumClass: 4, MaxDepth: 5, Eta: 0.3, NumThreads: 2,
		Subsample: 0.8, ColsampleByTree: 0.8, Seed: 7},
		dtr, TrainOptions{Rounds: 15, Evals: []Eval{{"valid", dva}}, EarlyStoppingRounds: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, xva, yva
}

func TestSaveLoadRoundTrip(t *testing.T) {
	checkNoLeak(t)
	b, x, _ := trainSmall(t)
	want, err := b.Predict(x, PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantBest, _, _ := b.BestIteration()
	for _, f := range []Format{JSON, UBJ} {
		t.Run(string(f), func(t *testing.T) {
			data, err := b.Save(f)
			if err != nil {
				t.Fatal(err)
			}
			if f == JSON && !json.Valid(data) {
				t.Fatal("JSON model is not valid JSON")
			}
			check := func(t *testing.T, l *Booster) {
				t.Helper()
				got, err := l.Predict(x, PredictOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("loaded model predicts differently (-saved +loaded):\n%s", diff)
				}
				names, err := l.FeatureNames()
				if err != nil || !cmp.Equal(names, featureNames) {
					t.Errorf("feature names %v, %v; want %v", names, err, featureNames)
				}
				if it, ok, err := l.BestIteration(); err != nil || !ok || it != wantBest {
					t.Errorf("BestIteration() = %d, %v, %v; want %d", it, ok, err, wantBest)
				}
				// Saving the loaded model gives the same bytes: nothing lost.
				again, err := l.Save(f)
				if err != nil || !bytes.Equal(again, data) {
					t.Errorf("re-saved model differs (err %v)", err)
				}
			}

			l, err := LoadBooster(data)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			check(t, l)

			path := filepath.Join(t.TempDir(), "model."+string(f))
			if err := b.SaveFile(path); err != nil {
				t.Fatal(err)
			}
			lf, err := LoadBoosterFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer lf.Close()
			check(t, lf)
		})
	}
}

func TestModelFileErrors(t *testing.T) {
	checkNoLeak(t)
	b, _, _ := trainSmall(t)
	dir := t.TempDir()
	if err := b.SaveFile(filepath.Join(dir, "model.bin")); err == nil || !strings.Contains(err.Error(), "extension must be .json or .ubj") {
		t.Errorf("SaveFile(.bin) error %v", err)
	}
	if _, err := LoadBooster([]byte("not a model")); err == nil || !strings.HasPrefix(err.Error(), "xgb: load model: ") {
		t.Errorf("LoadBooster(garbage) error %v", err)
	}
	if _, err := LoadBoosterFile(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadBoosterFile(missing) error %v", err)
	}
	if _, err := b.Save("xml"); err == nil {
		t.Error("Save(xml) succeeded")
	}
}

func TestConfigAndImportance(t *testing.T) {
	checkNoLeak(t)
	b, _, _ := trainSmall(t)
	cfg, err := b.Config()
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Learner struct {
			Objective struct {
				Name string `json:"name"`
			} `json:"objective"`
			LearnerModelParam struct {
				NumClass string `json:"num_class"`
			} `json:"learner_model_param"`
			GradientBooster struct {
				GbtreeTrainParam struct {
					TreeMethod string `json:"tree_method"`
				} `json:"gbtree_train_param"`
			} `json:"gradient_booster"`
		} `json:"learner"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatalf("config is not JSON: %v", err)
	}
	got := []string{c.Learner.Objective.Name, c.Learner.LearnerModelParam.NumClass, c.Learner.GradientBooster.GbtreeTrainParam.TreeMethod}
	if diff := cmp.Diff([]string{"multi:softprob", "4", "hist"}, got); diff != "" {
		t.Errorf("config objective, num_class, tree_method (-want +got):\n%s", diff)
	}

	for _, kind := range []Importance{TotalGain, Gain, Weight} {
		fs, err := b.FeatureImportance(kind)
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			t.Fatalf("%s: no importances", kind)
		}
		for i, f := range fs {
			if !contains(featureNames, f.Feature) || !(f.Score > 0) {
				t.Errorf("%s: importance %+v: unknown feature or non-positive score", kind, f)
			}
			if i > 0 && fs[i-1].Score < f.Score {
				t.Errorf("%s: not sorted by score: %v", kind, fs)
			}
		}
	}
	// Total gain is gain times the number of splits (weight).
	tg, _ := b.FeatureImportance(TotalGain)
	g, _ := b.FeatureImportance(Gain)
	w, _ := b.FeatureImportance(Weight)
	byName := func(fs []FeatureScore) map[string]float64 {
		m := map[string]float64{}
		for _, f := range fs {
			m[f.Feature] = f.Score
		}
		return m
	}
	mtg, mg, mw := byName(tg), byName(g), byName(w)
	for name, v := range mtg {
		if rel := (mg[name]*mw[name] - v) / v; rel > 1e-4 || rel < -1e-4 {
			t.Errorf("%s: gain %v × splits %v ≠ total gain %v", name, mg[name], mw[name], v)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestPredictErrors(t *testing.T) {
	checkNoLeak(t)
	b, x, _ := trainSmall(t)
	if _, err := b.Predict(Matrix{Data: make([]float32, 4), Rows: 1, Cols: 4}, PredictOptions{}); err == nil ||
		!strings.HasPrefix(err.Error(), "xgb: predict: ") {
		t.Errorf("wrong column count: error %v", err)
	}
	if _, err := b.Predict(x, PredictOptions{IterationBegin: -1}); err == nil {
		t.Error("negative iteration range accepted")
	}
	if p, err := b.Predict(Matrix{Cols: x.Cols}, PredictOptions{}); err != nil || p.Rows != 0 {
		t.Errorf("empty input: %+v, %v", p, err)
	}
	if _, err := b.Slice(0, 1000); err == nil {
		t.Error("Slice beyond the model succeeded")
	}

	c, err := b.Slice(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if _, err := c.Predict(x, PredictOptions{}); !errors.Is(err, ErrClosed) || err.Error() != "xgb: predict: booster handle is closed" {
		t.Errorf("Predict after Close: %v", err)
	}
	if _, err := c.Save(JSON); !errors.Is(err, ErrClosed) {
		t.Errorf("Save after Close: %v", err)
	}
}
