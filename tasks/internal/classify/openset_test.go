package classify

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/featuredef"
)

// TestLogitStackerUndoesPriorShift: a member that under-predicts class 1
// (its scores shrunk) loses macro-F1; the stacker's class bias, learned on
// the rows, wins it back.
func TestLogitStackerUndoesPriorShift(t *testing.T) {
	const n, k = 3000, 3
	rng := rand.New(rand.NewPCG(1, 2))
	labels := make([]int, n)
	p := make([]float32, n*k)
	for i := range labels {
		y := rng.IntN(k)
		labels[i] = y
		row := p[i*k : (i+1)*k]
		for c := range row {
			row[c] = 0.2 + 0.5*rng.Float32()
		}
		row[y] += 0.35
		row[1] *= 0.6 // the shift
		var s float32
		for _, v := range row {
			s += v
		}
		for c := range row {
			row[c] /= s
		}
	}
	probs := [][]float32{p}
	before := macroF1(argmaxRows(p, k), labels, k)
	st, err := FitStacking([]string{"m"}, probs, labels, k, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	st.FitLogit(probs, labels, k, 1)
	if st.Pool != PoolLogit || st.Logit == nil {
		t.Fatalf("stacker not chosen: pool %s, cross-fitted %.4f vs grid %.4f", st.Pool, st.ValMacroF1, st.GridMacroF1)
	}
	out, err := st.Combine(probs, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	after := macroF1(argmaxRows(out, k), labels, k)
	if after < before+0.02 || st.ValMacroF1 < before+0.01 {
		t.Errorf("macro-F1 %.4f → %.4f (cross-fitted %.4f): the stacker should undo the shift", before, after, st.ValMacroF1)
	}
	if _, err := (Stacking{Weights: []float64{1}, Pool: PoolLogit}).Combine(probs, k, nil); err == nil {
		t.Error("logit pool without a stacker: no error")
	}
}

// TestOpenSetHead: flows of unknown services are less confident and the
// members disagree on them; the head ranks them below known flows.
func TestOpenSetHead(t *testing.T) {
	const n, k = 1000, 4
	rng := rand.New(rand.NewPCG(3, 4))
	gen := func(conf float32, agree bool) ([][]float32, []float32) {
		m := [][]float32{make([]float32, n*k), make([]float32, n*k)}
		ens := make([]float32, n*k)
		for i := range n {
			c := rng.IntN(k)
			for j := range m {
				top := c
				if !agree && j == 1 {
					top = (c + 1) % k
				}
				row := m[j][i*k : (i+1)*k]
				pc := conf * (0.8 + 0.4*rng.Float32())
				for x := range row {
					row[x] = (1 - pc) / (k - 1)
				}
				row[top] = pc
				for x := range row {
					ens[i*k+x] += row[x] / 2
				}
			}
		}
		return m, ens
	}
	km, ke := gen(0.8, true)
	um, ue := gen(0.45, false)
	xk, names := headFeatures(km, ke, k)
	xu, _ := headFeatures(um, ue, k)
	unknown := make([]bool, 2*n)
	for i := n; i < 2*n; i++ {
		unknown[i] = true
	}
	h := fitOpenSetHead(append(xk, xu...), names, unknown)
	tpr, _, _ := TPRAtFPR(h.KnownScores(xk), h.KnownScores(xu), 0.05)
	if tpr < 0.9 {
		t.Errorf("head TPR at 5%% FPR %.3f, want ≥ 0.9", tpr)
	}
}

// TestTrainPinnedHoldoutAndHead: --holdout-apps pins the unknown services,
// the open-set apps come from other providers, the bundle carries the head
// and the tree member's importance, and evaluation leaves the open-set apps
// out.
func TestTrainPinnedHoldoutAndHead(t *testing.T) {
	ctx := context.Background()
	root := writeDataset(t, 400)
	src, err := NewRawSource(root, featuredef.FeatureConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "models")
	cfg := testConfig(out, "xgb-hier", "linear")
	cfg.FeatureSets = []FeatureSet{FeaturesNoSNI}
	days, _ := src.Days(ctx)
	split, err := SplitWeeks(Weeks(days), cfg.withDefaults().Split)
	if err != nil {
		t.Fatal(err)
	}
	d0, err := sampleTraining(ctx, src, src, split, cfg.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	pinned := []string{d0.classes[0]}
	cfg.HoldoutApps, cfg.OpenSetFrac = pinned, 0.2
	if _, err := Train(ctx, src, cfg, testLog(t)); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundle(filepath.Join(out, "no-sni"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m := b.Manifest
	if !slices.Equal(m.Holdout, pinned) {
		t.Errorf("held-out apps %v, want the pinned %v", m.Holdout, pinned)
	}
	if len(m.OpenSetApps) == 0 || m.Reject.Fingerprints == nil || len(m.Reject.Methods) != len(OpenSetMethods) {
		t.Fatalf("open-set apps %v, fingerprints %v, %d methods: want apps, fingerprints and every method", m.OpenSetApps, m.Reject.Fingerprints != nil, len(m.Reject.Methods))
	}
	// The rule is the method of highest validation TPR, with its threshold.
	for _, c := range m.Reject.Methods {
		if c.ValTPR > m.Reject.ValTPR {
			t.Errorf("rule %s (val TPR %.3f) but %s has %.3f", m.Reject.Method, m.Reject.ValTPR, c.Method, c.ValTPR)
		}
		if c.Method == m.Reject.Method && c.Threshold != m.Reject.Threshold {
			t.Errorf("rule threshold %v, its method's %v", m.Reject.Threshold, c.Threshold)
		}
		if (c.Method == MethodHead || c.Method == MethodHeadFingerprint) && (c.Head == nil || !c.CrossFit) {
			t.Errorf("method %s: head %v, cross-fitted %v", c.Method, c.Head != nil, c.CrossFit)
		}
	}
	// Serving flags flows by the chosen method's score.
	rows := d0.valRows[:50]
	p, err := b.Predict(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Reject.KnownScores(p.Members, p.Probs, p.K, rows)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if p.Known[i] != want[i] || p.Unknown[i] != (want[i] < m.Reject.Threshold) {
			t.Fatalf("row %d: known %v unknown %v, want %v under %s (threshold %v)", i, p.Known[i], p.Unknown[i], want[i], m.Reject.Method, m.Reject.Threshold)
		}
	}
	for _, a := range m.OpenSetApps {
		if slices.Contains(m.Classes, a) || providerOf(a) == providerOf(pinned[0]) {
			t.Errorf("open-set app %s is a class or shares the held-out app's provider", a)
		}
	}
	var imp Importance
	if err := readJSON(filepath.Join(out, "no-sni", "xgb-hier", ImportanceFile), &imp); err != nil {
		t.Fatal(err)
	}
	if len(imp.Features) == 0 || imp.Features[0].Gain < imp.Features[len(imp.Features)-1].Gain {
		t.Errorf("importance %+v: want features by gain, highest first", imp.Features)
	}
	rep, err := Evaluate(ctx, src, EvalConfig{Models: []string{filepath.Join(out, "no-sni")}}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	v := rep.Variants[0]
	if v.RejectMethod != m.Reject.Method || v.Weeks[0].OpenSet.Unknown == 0 || len(v.Weeks[0].OpenSet.Methods) != len(OpenSetMethods) {
		t.Errorf("evaluation: method %q (bundle %q), %d unknown flows, methods %v", v.RejectMethod, m.Reject.Method, v.Weeks[0].OpenSet.Unknown, v.Weeks[0].OpenSet.Methods)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if len(v.TopFeatures) == 0 || !strings.Contains(text.String(), "top features by total split gain") && !strings.Contains(text.String(), "features by total split gain") {
		t.Errorf("report: %d top features; text:\n%s", len(v.TopFeatures), text.String())
	}
	if !strings.Contains(text.String(), "unknown-service methods") || !strings.Contains(text.String(), m.Reject.Method+" ") ||
		!strings.Contains(text.String(), "← the bundle's rule") {
		t.Errorf("report does not compare the open-set methods:\n%s", text.String())
	}
}
