package seqnet

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// mmLoss runs the training forward pass on d and returns −Σ w_r log p(y_r).
func mmLoss(m *MM, s *mmScratch, d Dataset, w []float32) float64 {
	n := d.Len()
	s.prepare(n, m.flowDim)
	s.in.fill(&m.scalers, mmChannels, d.Batch, nil, n)
	m.forward(s, n, true)
	var loss float64
	for r := range n {
		loss -= float64(w[r]) * math.Log(float64(s.probs[r*len(m.classes)+d.Labels[r]]))
	}
	return loss
}

// TestMMGradients checks mm-CESNET's backward pass (convolutions with
// padding and stride, batch norms with batch statistics, GeM pooling with its
// learnt exponent, the flow branch, dropout with fixed masks) against central
// differences.
func TestMMGradients(t *testing.T) {
	rows, y := synth(41, 12, 3, seqTask, nil)
	d := dataset(t, rows, y)
	cfg := MMConfig{Conv1: 4, Conv2: 5, MLP: 6, Shared: 7}.withDefaults()
	ps := mmLayout(cfg, d.FlowDim, 3)
	initMM(ps, rand.New(rand.NewPCG(1, 2)))
	m := newMM(cfg, classNames[:3], d.FlowDim, nil, fitScalers(d.Batch), ps, TrainInfo{})
	for _, p := range m.params { // non-trivial batch norm scales and shifts
		if hasSuffix(p.name, "bn.weight") || hasSuffix(p.name, "bn.bias") {
			for j := range p.data {
				p.data[j] += 0.1 * float32(j%3)
			}
		}
	}
	w := make([]float32, d.Len())
	for i := range w {
		w[i] = float32(1+i%4) / 30
	}
	s := newMMScratch()
	s.rng, s.freezeDrops = rand.New(rand.NewPCG(5, 6)), true
	mmLoss(m, s, d, w)
	grads := make([][]float32, len(m.params))
	for i, p := range m.params {
		grads[i] = make([]float32, len(p.data))
	}
	m.backward(s, d.Len(), d.Labels, w, grads)
	rng := rand.New(rand.NewPCG(3, 4))
	// A small step: the ReLUs before every batch norm put many values near
	// a kink, where a step of 1e-2 crosses it (float32 noise stays below the
	// tolerance).
	const eps = 3e-4
	checked := 0
	for pi, p := range m.params {
		if hasSuffix(p.name, "running_mean") || hasSuffix(p.name, "running_var") {
			for j, g := range grads[pi] {
				if g != 0 {
					t.Errorf("%s[%d]: gradient %v, want 0", p.name, j, g)
				}
			}
			continue
		}
		for range 8 {
			j := rng.IntN(len(p.data))
			old := p.data[j]
			p.data[j] = old + eps
			up := mmLoss(m, s, d, w)
			p.data[j] = old - eps
			down := mmLoss(m, s, d, w)
			p.data[j] = old
			num := (up - down) / (2 * eps)
			got := float64(grads[pi][j])
			if math.Abs(num-got) > 3e-3+0.05*math.Abs(num) {
				t.Errorf("%s[%d]: backprop %.6f, numeric %.6f", p.name, j, got, num)
			}
			checked++
		}
	}
	t.Logf("%d gradients checked", checked)
}

// TestMMPredictIsEvalForward checks that Predict is the eval-mode forward
// pass (running batch norm statistics, no dropout) and ignores padding values.
func TestMMPredictIsEvalForward(t *testing.T) {
	m, te := mmTestModel(t)
	d := te.slice(0, 300)
	got, err := m.Predict(context.Background(), d.Batch)
	if err != nil {
		t.Fatal(err)
	}
	s := newMMScratch()
	n := d.Len()
	s.prepare(n, m.flowDim)
	s.in.fill(&m.scalers, mmChannels, d.Batch, nil, n)
	m.forward(s, n, false)
	if !slices.Equal(got, s.probs[:n*len(m.classes)]) {
		t.Error("Predict differs from the eval forward pass of one batch")
	}
	// Padding values are zeroed before the net sees them.
	noisy := Batch{PPI: slices.Clone(d.PPI), Flow: d.Flow, FlowDim: d.FlowDim}
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < len(noisy.PPI); i += 4 {
		if noisy.PPI[i+ChanDir] == 0 {
			noisy.PPI[i+ChanIPT], noisy.PPI[i+ChanSize] = rng.Float32()*1000, rng.Float32()*1500
		}
	}
	again, err := m.Predict(context.Background(), noisy)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, again) {
		t.Error("padding values changed mm-CESNET's predictions")
	}
}

var mmTestModel = func() func(t *testing.T) (*MM, Dataset) {
	var m *MM
	var te Dataset
	var err error
	done := false
	return func(t *testing.T) (*MM, Dataset) {
		t.Helper()
		if !done {
			done = true
			trRows, trY := synth(1, 2000, 4, seqTask, nil)
			vaRows, vaY := synth(2, 500, 4, seqTask, nil)
			teRows, teY := synth(3, 1000, 4, seqTask, nil)
			tr, va := dataset(t, trRows, trY), dataset(t, vaRows, vaY)
			te = dataset(t, teRows, teY)
			m, err = TrainMM(context.Background(), MMConfig{Conv1: 16, Conv2: 16, MLP: 16, Shared: 32},
				TrainConfig{MaxEpochs: 6, BatchSize: 64, LearnRate: 3e-3, Seed: 1}, classNames[:4], tr, va)
		}
		if err != nil {
			t.Fatal(err)
		}
		return m, te
	}
}()

func TestMMLearnsSequenceTask(t *testing.T) {
	m, te := mmTestModel(t)
	p, err := m.Predict(context.Background(), te.Batch)
	if err != nil {
		t.Fatal(err)
	}
	f1 := MacroF1(p, te.Labels, 4)
	t.Logf("test macro-F1 %.3f after %d epochs (best %d), %.0f samples/s", f1, m.Info().Epochs, m.Info().BestEpoch, m.Info().SamplesPerSec)
	if f1 < 0.9 {
		t.Errorf("macro-F1 %.3f, want ≥ 0.9", f1)
	}
}

func TestMMLearnsFlowStatsTask(t *testing.T) {
	trRows, trY := synth(4, 1500, 3, statsTask, nil)
	vaRows, vaY := synth(5, 300, 3, statsTask, nil)
	teRows, teY := synth(6, 600, 3, statsTask, nil)
	tr, va, te := dataset(t, trRows, trY), dataset(t, vaRows, vaY), dataset(t, teRows, teY)
	m, err := TrainMM(context.Background(), MMConfig{Conv1: 8, Conv2: 8, MLP: 16, Shared: 16},
		TrainConfig{MaxEpochs: 5, BatchSize: 64, LearnRate: 3e-3, Seed: 2}, classNames[:3], tr, va)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Predict(context.Background(), te.Batch)
	if err != nil {
		t.Fatal(err)
	}
	if f1 := MacroF1(p, te.Labels, 3); f1 < 0.9 {
		t.Errorf("flow-stats task macro-F1 %.3f, want ≥ 0.9", f1)
	}
}

func TestMMSaveLoad(t *testing.T) {
	m, te := mmTestModel(t)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	m2, err := LoadMM(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.Predict(context.Background(), te.Batch)
	b, _ := m2.Predict(context.Background(), te.Batch)
	if !slices.Equal(a, b) || !slices.Equal(m2.Classes(), m.Classes()) || m2.Info().Epochs != m.Info().Epochs ||
		m2.Config() != m.Config() || m2.FlowDim() != m.FlowDim() {
		t.Error("loaded mm-CESNET differs")
	}
	path := filepath.Join(dir, MMWeightsFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-5] ^= 1
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMM(dir); !errors.Is(err, ErrFormat) {
		t.Errorf("damaged weights: got %v, want ErrFormat", err)
	}
}

func TestTrainMMRejectsBadInput(t *testing.T) {
	rows, y := synth(1, 50, 2, seqTask, nil)
	d := dataset(t, rows, y)
	noFlow := Dataset{Batch: Batch{PPI: d.PPI, Flow: []float32{}, FlowDim: 0}, Labels: d.Labels}
	for name, f := range map[string]func() error{
		"one class": func() error {
			_, err := TrainMM(context.Background(), MMConfig{}, TrainConfig{}, []string{"a"}, d, Dataset{})
			return err
		},
		"no flow stats": func() error {
			_, err := TrainMM(context.Background(), MMConfig{}, TrainConfig{}, classNames[:2], noFlow, Dataset{})
			return err
		},
		"bad dropout": func() error {
			_, err := TrainMM(context.Background(), MMConfig{SharedDropout: 1}, TrainConfig{}, classNames[:2], d, Dataset{})
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
