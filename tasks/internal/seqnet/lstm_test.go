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

// lossOf runs the LSTM forward on d and returns −Σ w_r log p(y_r).
func lossOf(m *LSTM, s *lstmScratch, d Dataset, w []float32) float64 {
	n := d.Len()
	s.prepare(m.cfg, n, len(m.classes))
	s.in.fill(&m.scalers, m.cfg.Channels, Batch{PPI: d.PPI}, nil, n)
	m.forward(s, n)
	var loss float64
	for r := range n {
		loss -= float64(w[r]) * math.Log(float64(s.out[r*len(m.classes)+d.Labels[r]]))
	}
	return loss
}

// TestLSTMGradients checks backpropagation through time against central
// differences (in float64 of the float32 net, so loosely) on flows of
// different lengths, padding included.
func TestLSTMGradients(t *testing.T) {
	rows, y := synth(21, 6, 3, seqTask, nil)
	d := dataset(t, rows, y)
	cfg := LSTMConfig{Units: 5}.withDefaults()
	m := &LSTM{cfg: cfg, classes: classNames[:3], scalers: fitScalers(Batch{PPI: d.PPI}), params: lstmLayout(cfg, 3)}
	initLSTM(m.params, cfg.Units, rand.New(rand.NewPCG(1, 2)))
	for i := range m.params[2].data { // non-trivial biases
		m.params[2].data[i] += 0.1 * float32(i%3)
	}
	w := []float32{0.1, 0.2, 0.15, 0.25, 0.2, 0.1}
	s := &lstmScratch{}
	lossOf(m, s, d, w)
	grads := make([][]float32, len(m.params))
	for i, p := range m.params {
		grads[i] = make([]float32, len(p.data))
	}
	m.backward(s, d.Len(), d.Labels, w, grads)
	rng := rand.New(rand.NewPCG(3, 4))
	const eps = 1e-2
	for pi, p := range m.params {
		for range 8 {
			j := rng.IntN(len(p.data))
			old := p.data[j]
			p.data[j] = old + eps
			up := lossOf(m, s, d, w)
			p.data[j] = old - eps
			down := lossOf(m, s, d, w)
			p.data[j] = old
			num := (up - down) / (2 * eps)
			got := float64(grads[pi][j])
			if math.Abs(num-got) > 2e-3+0.05*math.Abs(num) {
				t.Errorf("%s[%d]: backprop %.6f, numeric %.6f", p.name, j, got, num)
			}
		}
	}
}

var lstmTestModel = func() func(t *testing.T) (*LSTM, Dataset) {
	var m *LSTM
	var te Dataset
	var err error
	done := false
	return func(t *testing.T) (*LSTM, Dataset) {
		t.Helper()
		if !done {
			done = true
			trRows, trY := synth(1, 2000, 4, seqTask, nil)
			vaRows, vaY := synth(2, 500, 4, seqTask, nil)
			teRows, teY := synth(3, 1000, 4, seqTask, nil)
			tr, va := dataset(t, trRows, trY), dataset(t, vaRows, vaY)
			te = dataset(t, teRows, teY)
			m, err = TrainLSTM(context.Background(), LSTMConfig{Units: 16}, TrainConfig{MaxEpochs: 8, BatchSize: 64, LearnRate: 1e-2, Seed: 1},
				classNames[:4], tr, va)
		}
		if err != nil {
			t.Fatal(err)
		}
		return m, te
	}
}()

func TestLSTMLearnsSequenceTask(t *testing.T) {
	m, te := lstmTestModel(t)
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

func TestLSTMPaddingAndFlowsDoNotChangePredictions(t *testing.T) {
	m, te := lstmTestModel(t)
	d := te.slice(0, 300)
	want, err := m.Predict(context.Background(), d.Batch)
	if err != nil {
		t.Fatal(err)
	}
	noisy := Batch{PPI: slices.Clone(d.PPI), Flow: make([]float32, len(d.Flow)), FlowDim: d.FlowDim}
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < len(noisy.PPI); i += 4 {
		if noisy.PPI[i+ChanDir] == 0 {
			noisy.PPI[i+ChanIPT], noisy.PPI[i+ChanSize], noisy.PPI[i+ChanPush] = rng.Float32()*1000, rng.Float32()*1500, 1
		}
	}
	got, err := m.Predict(context.Background(), noisy)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Error("padding values or the flow vector changed the LSTM's predictions")
	}
}

func TestLSTMSaveLoad(t *testing.T) {
	m, te := lstmTestModel(t)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	m2, err := LoadLSTM(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.Predict(context.Background(), te.Batch)
	b, _ := m2.Predict(context.Background(), te.Batch)
	if !slices.Equal(a, b) || !slices.Equal(m2.Classes(), m.Classes()) || m2.Info().Epochs != m.Info().Epochs {
		t.Error("loaded LSTM differs")
	}
	// A changed weight byte fails the hash check.
	path := filepath.Join(dir, LSTMWeightsFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-5] ^= 1
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLSTM(dir); !errors.Is(err, ErrFormat) {
		t.Errorf("damaged weights: got %v, want ErrFormat", err)
	}
}

func TestTrainLSTMRejectsBadInput(t *testing.T) {
	rows, y := synth(1, 50, 2, seqTask, nil)
	d := dataset(t, rows, y)
	bad := d
	bad.Labels = slices.Clone(d.Labels)
	bad.Labels[3] = 7
	for name, f := range map[string]func() error{
		"one class": func() error {
			_, err := TrainLSTM(context.Background(), LSTMConfig{}, TrainConfig{}, []string{"a"}, d, Dataset{})
			return err
		},
		"bad label": func() error {
			_, err := TrainLSTM(context.Background(), LSTMConfig{}, TrainConfig{}, classNames[:2], bad, Dataset{})
			return err
		},
		"bad channels": func() error {
			_, err := TrainLSTM(context.Background(), LSTMConfig{Channels: []int{0, 0}}, TrainConfig{}, classNames[:2], d, Dataset{})
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
