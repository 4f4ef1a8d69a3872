package seqnet

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// TrainConfig sets how Train fits a model. Zero fields take the defaults.
type TrainConfig struct {
	MaxEpochs int     // default 20
	BatchSize int     // default 256
	LearnRate float64 // Adam's step size; default 1e-3
	// Patience is the number of epochs without a lower validation loss after
	// which training stops; default 3.
	Patience int
	Seed     uint64
	// MaxClassWeight caps the inverse-frequency class weights; default 10.
	MaxClassWeight float64
	// UniformWeights turns class weighting off (every class weighs 1).
	UniformWeights bool
	// Schedule is the step size schedule: "" or "constant" keeps LearnRate;
	// "cosine" warms up linearly over the first epoch, then decays along a
	// half cosine to zero at MaxEpochs (one cycle, as CESNET's models are
	// trained), so a higher LearnRate is usable.
	Schedule string
	// FlowNames optionally names the flow vector's columns; they are saved
	// with the model.
	FlowNames []string
	// OnEpoch, when set, is called after each epoch; an error stops training
	// and is returned.
	OnEpoch func(EpochStats) error
}

func (tc TrainConfig) withDefaults() TrainConfig {
	if tc.MaxEpochs == 0 {
		tc.MaxEpochs = 20
	}
	if tc.BatchSize == 0 {
		tc.BatchSize = 256
	}
	if tc.LearnRate == 0 {
		tc.LearnRate = 1e-3
	}
	if tc.Patience == 0 {
		tc.Patience = 3
	}
	if tc.MaxClassWeight == 0 {
		tc.MaxClassWeight = 10
	}
	return tc
}

// EpochStats describes one finished epoch. The losses are class-weighted mean
// cross-entropies; the validation values are NaN without a validation set.
type EpochStats struct {
	Epoch      int     `json:"epoch"` // from 1
	TrainLoss  float64 `json:"train_loss"`
	ValLoss    float64 `json:"val_loss"`
	ValMacroF1 float64 `json:"val_macro_f1"`
	Best       bool    `json:"best"` // lowest validation loss so far
	Seconds    float64 `json:"seconds"`
}

// TrainInfo records a training run; it is saved with the model.
type TrainInfo struct {
	Epochs         int          `json:"epochs"`     // epochs run
	BestEpoch      int          `json:"best_epoch"` // whose weights were kept
	StoppedEarly   bool         `json:"stopped_early"`
	ClassWeights   []float64    `json:"class_weights"`
	TrainRows      int          `json:"train_rows"`
	ValRows        int          `json:"val_rows"`
	Seed           uint64       `json:"seed"`
	BatchSize      int          `json:"batch_size"`
	LearnRate      float64      `json:"learn_rate"`
	SamplesPerSec  float64      `json:"samples_per_sec"` // training throughput, without validation
	History        []EpochStats `json:"history"`
	MaxEpochs      int          `json:"max_epochs"`
	Patience       int          `json:"patience"`
	MaxClassWeight float64      `json:"max_class_weight"`
	UniformWeights bool         `json:"uniform_weights,omitempty"`
	Schedule       string       `json:"schedule,omitempty"`
}

func (tc TrainConfig) validate() error {
	if tc.BatchSize < 1 || tc.MaxEpochs < 1 || tc.Patience < 1 || tc.LearnRate < 0 || tc.MaxClassWeight <= 0 {
		return fmt.Errorf("seqnet: bad training config %+v", tc)
	}
	if tc.Schedule != "" && tc.Schedule != "constant" && tc.Schedule != "cosine" {
		return fmt.Errorf("seqnet: step size schedule %q: want constant or cosine", tc.Schedule)
	}
	return nil
}

// stepSize is the step size of step (from 0) of a run with perEpoch steps
// an epoch.
func (tc TrainConfig) stepSize(step, perEpoch int) float64 {
	if tc.Schedule != "cosine" {
		return tc.LearnRate
	}
	total := float64(tc.MaxEpochs * perEpoch)
	warm := min(1, float64(step+1)/float64(perEpoch))
	return tc.LearnRate * warm * 0.5 * (1 + math.Cos(math.Pi*float64(step)/total))
}

// Train fits a model on train, early-stopping on val (which may be empty:
// then all MaxEpochs run and the last weights are kept). Labels index
// classes. Scalers are fitted on train only.
func Train(ctx context.Context, cfg Config, tc TrainConfig, classes []string, train, val Dataset) (*Model, error) {
	cfg = cfg.withDefaults()
	tc = tc.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	k := len(classes)
	if err := checkData(tc, k, train, val); err != nil {
		return nil, err
	}
	if err := checkFlows(tc, train, val); err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(tc.Seed, 0x5e9e7))
	m := &Model{
		cfg: cfg, classes: slices.Clone(classes), flowDim: train.FlowDim, flowNames: slices.Clone(tc.FlowNames),
		scalers: fitScalers(train.Batch), params: layout(cfg, train.FlowDim, k),
	}
	initParams(m.params, rng)
	l := newLoop(tc, k, train, val, m.params, &m.info)
	ts := m.newTrainScratch(l.bs)
	err := l.run(ctx, "train", rng, train, val, m.predict, func(rows []int) (float64, float32, bool) {
		ts.in.fill(&m.scalers, cfg.Channels, train.Batch, rows, 0)
		m.forwardTrain(ts, len(rows))
		return m.backwardTrain(ts, len(rows), l.labels[:len(rows)], l.w[:len(rows)], l.grads), 1, true
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func snapshot(ps []param) [][]float32 {
	out := make([][]float32, len(ps))
	for i, p := range ps {
		out[i] = slices.Clone(p.data)
	}
	return out
}

// keep copies the parameters into a snapshot.
func keep(dst [][]float32, ps []param) {
	for i, p := range ps {
		copy(dst[i], p.data)
	}
}

// restore copies a snapshot back into the parameters.
func restore(ps []param, src [][]float32) {
	for i, s := range src {
		copy(ps[i].data, s)
	}
}
