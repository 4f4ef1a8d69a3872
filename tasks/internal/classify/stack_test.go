package classify

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// noisyProbs returns probabilities that point at the true class with
// probability acc (else at a random class), with some spread.
func noisyProbs(rng *rand.Rand, labels []int, k int, acc float64) []float32 {
	p := make([]float32, len(labels)*k)
	for i, y := range labels {
		row := p[i*k : (i+1)*k]
		for c := range row {
			row[c] = rng.Float32() * 0.5
		}
		top := y
		if rng.Float64() > acc {
			top = rng.IntN(k)
		}
		row[top] += 1 + rng.Float32()
		var s float32
		for _, v := range row {
			s += v
		}
		for c := range row {
			row[c] /= s
		}
	}
	return p
}

// The ensemble never scores below its best member on the data it was fitted
// on, whatever the members.
func TestStackingNeverBelowBestMember(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 1))
		k := 2 + rng.IntN(6)
		n := 50 + rng.IntN(300)
		labels := make([]int, n)
		for i := range labels {
			labels[i] = rng.IntN(k)
		}
		m := 1 + rng.IntN(3)
		names := []string{"a", "b", "c"}[:m]
		probs := make([][]float32, m)
		best := 0.0
		for j := range probs {
			probs[j] = noisyProbs(rng, labels, k, rng.Float64())
			best = math.Max(best, macroF1(argmaxRows(probs[j], k), labels, k))
		}
		s, err := FitStacking(names, probs, labels, k, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		ens, err := s.Combine(probs, k, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := macroF1(argmaxRows(ens, k), labels, k)
		if got < best-1e-12 {
			t.Errorf("seed %d: ensemble macro-F1 %.4f below best member %.4f (stacking %+v)", seed, got, best, s)
		}
		if math.Abs(got-s.ValMacroF1) > 1e-12 {
			t.Errorf("seed %d: recorded %.4f, recomputed %.4f", seed, s.ValMacroF1, got)
		}
		if math.Abs(slices.Max(s.MemberValMacroF1)-best) > 1e-12 {
			t.Errorf("seed %d: member scores %v, best %v", seed, s.MemberValMacroF1, best)
		}
		var sum float64
		for _, w := range s.Weights {
			sum += w
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("seed %d: weights %v do not sum to 1", seed, s.Weights)
		}
	}
}

func TestStackingFallsBackToPerfectMember(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	labels := make([]int, 200)
	for i := range labels {
		labels[i] = rng.IntN(4)
	}
	good := noisyProbs(rng, labels, 4, 1)
	bad := noisyProbs(rng, labels, 4, 0)
	s, err := FitStacking([]string{"bad", "good"}, [][]float32{bad, good}, labels, 4, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if s.Fallback != "good" || s.ValMacroF1 != 1 {
		t.Errorf("stacking %+v: want fallback to the perfect member", s)
	}
	if d := cmp.Diff([]float64{0, 1}, s.Weights); d != "" {
		t.Errorf("weights (-want +got):\n%s", d)
	}
}

// Two members that err on different rows: the ensemble beats both.
func TestStackingCombinesComplementaryMembers(t *testing.T) {
	const k = 3
	labels := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}
	a := make([]float32, len(labels)*k)
	b := make([]float32, len(labels)*k)
	for i, y := range labels {
		// a is sure and right on the first half, unsure and wrong elsewhere;
		// b the other way round.
		sure, wrong := []float32{0.05, 0.05, 0.05}, []float32{0.3, 0.3, 0.3}
		sure[y], wrong[(y+1)%k] = 0.9, 0.4
		wrong[y] = 0.35
		if i < len(labels)/2 {
			copy(a[i*k:], sure)
			copy(b[i*k:], wrong)
		} else {
			copy(a[i*k:], wrong)
			copy(b[i*k:], sure)
		}
	}
	s, err := FitStacking([]string{"a", "b"}, [][]float32{a, b}, labels, k, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Fallback != "" || s.ValMacroF1 != 1 || s.ValMacroF1 <= slices.Max(s.MemberValMacroF1) {
		t.Errorf("stacking %+v: want a combination that is right everywhere", s)
	}
}

func TestStackingErrors(t *testing.T) {
	if _, err := FitStacking(nil, nil, []int{0}, 2, 0.1); err == nil {
		t.Error("no members accepted")
	}
	if _, err := FitStacking([]string{"a"}, [][]float32{{0.5}}, []int{0}, 2, 0.1); err == nil || !strings.Contains(err.Error(), "values") {
		t.Errorf("short matrix: %v", err)
	}
}

func TestSimplexGrid(t *testing.T) {
	for _, tc := range []struct{ m, steps, want int }{{1, 10, 1}, {2, 10, 11}, {3, 10, 66}, {3, 20, 231}} {
		g := simplexGrid(tc.m, tc.steps)
		if len(g) != tc.want {
			t.Errorf("m %d steps %d: %d points, want %d", tc.m, tc.steps, len(g), tc.want)
		}
		for _, w := range g {
			var s float64
			for _, v := range w {
				s += v
			}
			if math.Abs(s-1) > 1e-9 {
				t.Fatalf("weights %v sum to %v", w, s)
			}
		}
	}
}

func TestGeometricPooling(t *testing.T) {
	p1 := []float32{0.8, 0.2}
	p2 := []float32{0.2, 0.8}
	s := Stacking{Weights: []float64{0.5, 0.5}, Pool: PoolGeo}
	got, err := s.Combine([][]float32{p1, p2}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(got[0])-0.5) > 1e-6 || math.Abs(float64(got[1])-0.5) > 1e-6 {
		t.Errorf("geo pooling %v, want [0.5 0.5]", got)
	}
	s = Stacking{Weights: []float64{0.75, 0.25}, Pool: PoolMean}
	got, _ = s.Combine([][]float32{p1, p2}, 2, nil)
	if math.Abs(float64(got[0])-0.65) > 1e-6 {
		t.Errorf("mean pooling %v, want [0.65 0.35]", got)
	}
}

func TestFitReject(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	labels := make([]int, 1000)
	for i := range labels {
		labels[i] = rng.IntN(5)
	}
	p := noisyProbs(rng, labels, 5, 0.8)
	r := FitReject(p, 5, 0.05)
	rejected := 0
	for i := range labels {
		if r.Unknown(p[i*5 : (i+1)*5]) {
			rejected++
		}
	}
	if rejected > 50 || rejected < 40 {
		t.Errorf("threshold %.4f rejects %d of 1000 known flows, want ≤ 50 and close to it", r.Threshold, rejected)
	}
	if r.ValFPR != float64(rejected)/1000 {
		t.Errorf("recorded val FPR %v, counted %v", r.ValFPR, float64(rejected)/1000)
	}
}

func TestChooseHoldout(t *testing.T) {
	apps := []string{"google-ads", "google-play", "google-maps", "apple-icloud", "apple-music", "spotify", "tiktok",
		"teams", "zoom", "slack", "dropbox", "office365", "github", "gitlab", "npm-registry", "docker-registry",
		"facebook-graph", "facebook-web", "instagram", "whatsapp"}
	got := chooseHoldout(apps, 0.2, 5)
	if len(got) == 0 || len(got) > 4 {
		t.Fatalf("held out %v: want 1..4 of 20 apps", got)
	}
	groups := map[string]bool{}
	for _, a := range got {
		groups[providerOf(a)] = true
	}
	for _, a := range apps {
		if groups[providerOf(a)] && !slices.Contains(got, a) {
			t.Errorf("held out %v but not %s of the same provider", got, a)
		}
	}
	if d := cmp.Diff(got, chooseHoldout(apps, 0.2, 5)); d != "" {
		t.Errorf("not deterministic:\n%s", d)
	}
	if chooseHoldout(apps, 0, 5) != nil {
		t.Error("frac 0 held out apps")
	}
	if got := chooseHoldout([]string{"google-a", "google-b", "google-c"}, 0.1, 1); len(got) != 3 {
		t.Errorf("single big group: %v, want the whole group", got)
	}
}

// The gated stacker (options of BenchmarkStackers) fits a members × members
// gate, scores rows as probabilities, survives the bundle's JSON, and a
// stacking whose gate has the wrong shape is refused.
func TestGatedLogitStacker(t *testing.T) {
	const k, n = 5, 400
	rng := rand.New(rand.NewPCG(3, 3))
	labels := make([]int, n)
	for i := range labels {
		labels[i] = rng.IntN(k)
	}
	probs := [][]float32{noisyProbs(rng, labels, k, 0.8), noisyProbs(rng, labels, k, 0.6)}
	o := logitOptions{L2: logitL2, Iters: logitIters, Folds: 4, Gate: true}
	ls := fitLogitStacker(probs, labels, k, []float64{0.5, 0.5}, o)
	if len(ls.G) != 2 || len(ls.G[0]) != 2 || (ls.G[0][0] == 0 && ls.G[1][1] == 0) {
		t.Fatalf("gate %v: want a fitted 2×2 gate", ls.G)
	}
	st := Stacking{Members: []string{"a", "b"}, Weights: []float64{0.5, 0.5}, Pool: PoolLogit, Logit: ls}
	got, err := st.Combine(probs, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < len(got); r += k {
		var sum float64
		for _, v := range got[r : r+k] {
			sum += float64(v)
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Fatalf("row %d sums to %v", r/k, sum)
		}
	}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back Stacking
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	again, err := back.Combine(probs, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, again); d != "" {
		t.Errorf("combine after JSON (-before +after):\n%s", d)
	}
	back.Logit.G = back.Logit.G[:1]
	if _, err := back.Combine(probs, k, nil); err == nil {
		t.Error("a 1×2 gate for 2 members was accepted")
	}
	if logit, grid := crossFitLogit(probs, labels, k, st.Weights, PoolMean, o, 1); logit <= 0 || grid <= 0 {
		t.Errorf("cross-fitted macro-F1 %v (grid %v) over 4 folds", logit, grid)
	}
}
