package seqnet

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLearnsSyntheticTasks(t *testing.T) {
	const k = 4
	tests := []struct {
		name      string
		task      task
		blank     bool // PPI removed: the stats-only control
		minF1     float64
		maxF1     float64
		seqSignal bool
	}{
		{name: "sequence task", task: seqTask, minF1: 0.9, maxF1: 1},
		{name: "sequence task, stats-only control", task: seqTask, blank: true, minF1: 0, maxF1: 0.45},
		{name: "stats task, stats only", task: statsTask, blank: true, minF1: 0.9, maxF1: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trRows, trY := synth(1, 2000, k, tt.task, nil)
			vaRows, vaY := synth(2, 500, k, tt.task, nil)
			teRows, teY := synth(3, 1000, k, tt.task, nil)
			tr, va, te := dataset(t, trRows, trY), dataset(t, vaRows, vaY), dataset(t, teRows, teY)
			if tt.blank {
				tr, va, te = blankPPI(tr), blankPPI(va), blankPPI(te)
			}
			var epochs []EpochStats
			m := train(t, smallNet, TrainConfig{MaxEpochs: 8, BatchSize: 64, LearnRate: 1e-2, Seed: 1,
				OnEpoch: func(s EpochStats) error { epochs = append(epochs, s); return nil }}, k, tr, va)
			f1 := MacroF1(predict(t, m, te.Batch), te.Labels, k)
			t.Logf("test macro-F1 %.3f after %d epochs (best %d), %.0f samples/s", f1, m.Info().Epochs, m.Info().BestEpoch, m.Info().SamplesPerSec)
			for _, e := range epochs {
				t.Logf("epoch %d: train %.4f val %.4f f1 %.3f", e.Epoch, e.TrainLoss, e.ValLoss, e.ValMacroF1)
			}
			if f1 < tt.minF1 || f1 > tt.maxF1 {
				t.Errorf("macro-F1 %.3f, want in [%.2f, %.2f]", f1, tt.minF1, tt.maxF1)
			}
			if len(epochs) != m.Info().Epochs {
				t.Errorf("callback saw %d epochs, model ran %d", len(epochs), m.Info().Epochs)
			}
		})
	}
}

// seqModel is a small model trained on the sequence task, shared by tests
// that only need some trained weights.
var seqModel = sync.OnceValues(func() (*Model, error) {
	rows, y := synth(11, 1500, 4, seqTask, nil)
	b, err := FeaturesBatch(rows, true)
	if err != nil {
		return nil, err
	}
	d := Dataset{Batch: b, Labels: y}
	return Train(context.Background(), smallNet, TrainConfig{MaxEpochs: 3, BatchSize: 64, LearnRate: 1e-2, Seed: 3, FlowNames: FlowNames(true)},
		classNames, d.slice(0, 1200), d.slice(1200, 1500))
})

func sharedModel(t *testing.T) *Model {
	t.Helper()
	m, err := seqModel()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPaddingDoesNotChangePredictions(t *testing.T) {
	m := sharedModel(t)
	rows, _ := synth(12, 300, 4, seqTask, nil)
	d := dataset(t, rows, nil)
	want := predict(t, m, d.Batch)

	noisy := slices.Clone(d.PPI)
	rng := rand.New(rand.NewPCG(5, 5))
	changed := 0
	for i := 0; i < len(noisy); i += 4 {
		if noisy[i+ChanDir] != 0 {
			continue
		}
		noisy[i+ChanIPT] = float32(rng.IntN(70000))
		noisy[i+ChanSize] = float32(rng.IntN(2000))
		noisy[i+ChanPush] = 1
		changed++
	}
	if changed == 0 {
		t.Fatal("test data has no padding")
	}
	got := predict(t, m, Batch{PPI: noisy, Flow: d.Flow, FlowDim: d.FlowDim})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("predictions changed when %d padding packets changed (-want +got):\n%s", changed, diff)
	}

	// The check can fail: changing a real packet does change predictions.
	real := slices.Clone(d.PPI)
	real[ChanSize] += 700
	if got := predict(t, m, Batch{PPI: real, Flow: d.Flow, FlowDim: d.FlowDim}); slices.Equal(got[:4], want[:4]) {
		t.Errorf("changing a real packet did not change the prediction %v", got[:4])
	}
}

func TestEarlyStopping(t *testing.T) {
	// Random labels: the net memorises the training rows, so the validation
	// loss rises after the first epochs.
	rows, _ := synth(21, 600, 4, seqTask, nil)
	d := dataset(t, rows, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	d.Labels = make([]int, d.Len())
	for i := range d.Labels {
		d.Labels[i] = rng.IntN(4)
	}
	const maxEpochs = 30
	var hist []EpochStats
	m := train(t, Config{Filters: []int{32}, Hidden: []int{64}}, TrainConfig{MaxEpochs: maxEpochs, BatchSize: 32, LearnRate: 1e-2, Patience: 2, Seed: 1,
		OnEpoch: func(s EpochStats) error { hist = append(hist, s); return nil }}, 4, d.slice(0, 400), d.slice(400, 600))
	info := m.Info()
	t.Logf("stopped after %d epochs, best %d: %+v", info.Epochs, info.BestEpoch, hist)
	if !info.StoppedEarly || info.Epochs >= maxEpochs {
		t.Fatalf("ran %d of %d epochs, stopped early %v", info.Epochs, maxEpochs, info.StoppedEarly)
	}
	if info.Epochs != info.BestEpoch+2 {
		t.Errorf("stopped at epoch %d, want best epoch %d + patience 2", info.Epochs, info.BestEpoch)
	}
	bestLoss := math.Inf(1)
	for _, h := range hist {
		bestLoss = min(bestLoss, h.ValLoss)
	}
	if hist[info.BestEpoch-1].ValLoss != bestLoss || !hist[info.BestEpoch-1].Best {
		t.Errorf("best epoch %d has val loss %v, lowest is %v", info.BestEpoch, hist[info.BestEpoch-1].ValLoss, bestLoss)
	}
	// The kept weights are the best epoch's.
	va := d.slice(400, 600)
	got := weightedLoss(predict(t, m, va.Batch), va.Labels, 4, info.ClassWeights)
	if math.Abs(got-bestLoss) > 1e-9 {
		t.Errorf("model's validation loss %v, want the best epoch's %v", got, bestLoss)
	}
}

func TestClassWeightsFavourRareClass(t *testing.T) {
	props := []float64{0.95, 0.05}
	trRows, trY := synth(31, 3000, 2, overlapTask, props)
	vaRows, vaY := synth(32, 600, 2, overlapTask, props)
	teRows, teY := synth(33, 3000, 2, overlapTask, props)
	tr, va, te := blankPPI(dataset(t, trRows, trY)), blankPPI(dataset(t, vaRows, vaY)), blankPPI(dataset(t, teRows, teY))
	recall := func(uniform bool) float64 {
		m := train(t, Config{Filters: []int{8}, Hidden: []int{16}}, TrainConfig{MaxEpochs: 8, BatchSize: 128, LearnRate: 1e-2, Seed: 1, UniformWeights: uniform}, 2, tr, va)
		p := predict(t, m, te.Batch)
		var hit, n float64
		for i, y := range te.Labels {
			if y == 1 {
				n++
				if argmax(p, i, 2) == 1 {
					hit++
				}
			}
		}
		return hit / n
	}
	weighted, uniform := recall(false), recall(true)
	t.Logf("rare-class recall: weighted %.3f, uniform %.3f", weighted, uniform)
	if weighted < 0.45 || uniform > weighted-0.25 {
		t.Errorf("rare-class recall weighted %.3f, uniform %.3f: want weighted ≥ 0.45 and 0.25 above uniform", weighted, uniform)
	}
}

func TestDeterministic(t *testing.T) {
	rows, y := synth(41, 400, 4, seqTask, nil)
	d := dataset(t, rows, y)
	run := func(seed uint64) []float32 {
		m := train(t, Config{Filters: []int{8, 8}, Hidden: []int{16}}, TrainConfig{MaxEpochs: 2, BatchSize: 64, Seed: seed}, 4, d.slice(0, 300), d.slice(300, 400))
		return predict(t, m, d.Batch)
	}
	a, b, c := run(7), run(7), run(8)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different predictions (-first +second):\n%s", diff)
	}
	if slices.Equal(a, c) {
		t.Error("different seeds gave identical predictions")
	}
}

func TestCancelAndCallbackError(t *testing.T) {
	rows, y := synth(51, 300, 4, seqTask, nil)
	d := dataset(t, rows, y)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, smallNet, TrainConfig{MaxEpochs: 2}, classNames, d, Dataset{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Train with a cancelled context: %v, want context.Canceled", err)
	}
	m := sharedModel(t)
	if _, err := m.Predict(ctx, d.Batch); !errors.Is(err, context.Canceled) {
		t.Errorf("Predict with a cancelled context: %v, want context.Canceled", err)
	}
	stop := errors.New("stop")
	epochs := 0
	_, err := Train(context.Background(), smallNet, TrainConfig{MaxEpochs: 5, OnEpoch: func(EpochStats) error { epochs++; return stop }}, classNames, d, Dataset{})
	if !errors.Is(err, stop) || epochs != 1 {
		t.Errorf("callback error: Train returned %v after %d epochs, want %v after 1", err, epochs, stop)
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	rows, y := synth(61, 10, 4, seqTask, nil)
	d := dataset(t, rows, y)
	tests := []struct {
		name    string
		cfg     Config
		classes []string
		train   Dataset
	}{
		{name: "label out of range", classes: classNames[:2], train: d},
		{name: "one class", classes: classNames[:1], train: d},
		{name: "short labels", classes: classNames, train: Dataset{Batch: d.Batch, Labels: y[:3]}},
		{name: "ragged PPI", classes: classNames, train: Dataset{Batch: Batch{PPI: d.PPI[:7], Flow: d.Flow, FlowDim: d.FlowDim}, Labels: y}},
		{name: "even kernel", cfg: Config{Kernel: 4}, classes: classNames, train: d},
		{name: "bad channel", cfg: Config{Channels: []int{0, 4}}, classes: classNames, train: d},
		{name: "no rows", classes: classNames, train: d.slice(0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Train(context.Background(), tt.cfg, TrainConfig{MaxEpochs: 1}, tt.classes, tt.train, Dataset{}); err == nil {
				t.Error("Train accepted bad input")
			}
		})
	}
}
