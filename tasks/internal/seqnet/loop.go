package seqnet

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// checkData checks what both nets' training needs of its data: at least two
// classes, a valid training config, labelled datasets with class indices,
// and training rows.
func checkData(tc TrainConfig, k int, train, val Dataset) error {
	if k < 2 {
		return fmt.Errorf("seqnet: need at least 2 classes, got %d", k)
	}
	if err := tc.validate(); err != nil {
		return err
	}
	for name, d := range map[string]Dataset{"train": train, "validation": val} {
		if err := d.validate(); err != nil {
			return fmt.Errorf("%w (%s)", err, name)
		}
		if len(d.Labels) != d.Len() {
			return fmt.Errorf("seqnet: %s has %d labels for %d flows", name, len(d.Labels), d.Len())
		}
		for i, y := range d.Labels {
			if y < 0 || y >= k {
				return fmt.Errorf("seqnet: %s label %d of row %d is not a class index", name, y, i)
			}
		}
	}
	if train.Len() == 0 {
		return fmt.Errorf("seqnet: no training rows")
	}
	return nil
}

// checkFlows checks the flow values of the nets that read them (the CNN's
// flow input, mm-CESNET's branch): validation has as many per row as
// train, and flow names, if given, name each.
func checkFlows(tc TrainConfig, train, val Dataset) error {
	if val.Len() > 0 && val.FlowDim != train.FlowDim {
		return fmt.Errorf("seqnet: validation has %d flow values per row, train %d", val.FlowDim, train.FlowDim)
	}
	if tc.FlowNames != nil && len(tc.FlowNames) != train.FlowDim {
		return fmt.Errorf("seqnet: %d flow names for %d flow values", len(tc.FlowNames), train.FlowDim)
	}
	return nil
}

// loop is what both nets' training loops share: the class weights, the
// run's TrainInfo, Adam over the parameters and its gradients, the row
// order shuffled each epoch, the batch's labels and weights, and at each
// epoch's end the validation, the best epoch's weights (by validation
// loss) and early stopping.
type loop struct {
	tc      TrainConfig
	k       int
	weights []float64
	info    *TrainInfo
	params  []param
	opt     *adam
	grads   [][]float32
	order   []int
	bs      int
	labels  []int
	w       []float32

	best      [][]float32
	bestLoss  float64
	sinceBest int
	trainTime time.Duration
}

func newLoop(tc TrainConfig, k int, train, val Dataset, params []param, info *TrainInfo) *loop {
	weights := make([]float64, k)
	for c := range weights {
		weights[c] = 1
	}
	if !tc.UniformWeights {
		weights = classWeights(train.Labels, k, tc.MaxClassWeight)
	}
	*info = TrainInfo{
		ClassWeights: weights, TrainRows: train.Len(), ValRows: val.Len(), Seed: tc.Seed,
		BatchSize: tc.BatchSize, LearnRate: tc.LearnRate, MaxEpochs: tc.MaxEpochs, Patience: tc.Patience,
		MaxClassWeight: tc.MaxClassWeight, UniformWeights: tc.UniformWeights, Schedule: tc.Schedule,
	}
	l := &loop{tc: tc, k: k, weights: weights, info: info, params: params, opt: newAdam(params, tc.LearnRate),
		grads: make([][]float32, len(params)), order: make([]int, train.Len()), bs: min(tc.BatchSize, train.Len()),
		best: snapshot(params), bestLoss: math.Inf(1)}
	for i, p := range params {
		l.grads[i] = make([]float32, len(p.data))
	}
	for i := range l.order {
		l.order[i] = i
	}
	l.labels = make([]int, l.bs)
	l.w = make([]float32, l.bs)
	return l
}

// batchWeights fills the labels and loss weights of rows (each row's class
// weight over the batch's sum) and returns that sum; 0 means the batch
// carries no weight and is skipped.
func (l *loop) batchWeights(labels []int, rows []int) float64 {
	var bw float64
	for i, r := range rows {
		l.labels[i] = labels[r]
		bw += l.weights[l.labels[i]]
	}
	if bw == 0 {
		return 0
	}
	for i := range rows {
		l.w[i] = float32(l.weights[l.labels[i]] / bw)
	}
	return bw
}

// step applies the batch's gradients with the schedule's step size; scale
// multiplies them (gradient clipping).
func (l *loop) step(scale float32) {
	l.opt.lr = l.tc.stepSize(l.opt.step, (len(l.order)+l.bs-1)/l.bs)
	l.opt.update(l.params, l.grads, scale)
}

// endEpoch closes an epoch begun at t0 with the given weighted loss sums:
// validation loss and macro-F1 through predict, the best weights kept, the
// history and callback. It reports whether training stops early.
func (l *loop) endEpoch(ctx context.Context, epoch int, lossSum, wSum float64, t0 time.Time, val Dataset,
	predict func(context.Context, Batch) ([]float32, error)) (bool, error) {
	l.trainTime += time.Since(t0)
	st := EpochStats{Epoch: epoch, TrainLoss: lossSum / wSum, ValLoss: math.NaN(), ValMacroF1: math.NaN()}
	if val.Len() > 0 {
		probs, err := predict(ctx, val.Batch)
		if err != nil {
			return false, err
		}
		st.ValLoss = weightedLoss(probs, val.Labels, l.k, l.weights)
		st.ValMacroF1 = MacroF1(probs, val.Labels, l.k)
		if st.ValLoss < l.bestLoss {
			l.bestLoss, st.Best, l.sinceBest = st.ValLoss, true, 0
			l.info.BestEpoch = epoch
			keep(l.best, l.params)
		} else {
			l.sinceBest++
		}
	} else {
		st.Best = true
		l.info.BestEpoch = epoch
	}
	st.Seconds = time.Since(t0).Seconds()
	l.info.Epochs = epoch
	l.info.History = append(l.info.History, st)
	if l.tc.OnEpoch != nil {
		if err := l.tc.OnEpoch(st); err != nil {
			return false, fmt.Errorf("seqnet: epoch callback: %w", err)
		}
	}
	if l.sinceBest >= l.tc.Patience {
		l.info.StoppedEarly = epoch < l.tc.MaxEpochs
		return true, nil
	}
	return false, nil
}

// run is the epoch loop every net trains with: each epoch shuffles the
// training rows with rng, and for every batch of them that carries weight
// calls batch, which fills the gradients and returns the batch's loss and
// the scale of its step (gradient clipping; 1: none), or false to skip the
// batch; then the epoch ends (endEpoch, predict on val) until training
// stops, and finish restores the best weights. what names the net in
// errors.
func (l *loop) run(ctx context.Context, what string, rng *rand.Rand, train, val Dataset,
	predict func(context.Context, Batch) ([]float32, error), batch func(rows []int) (loss float64, scale float32, ok bool)) error {
	for epoch := 1; epoch <= l.tc.MaxEpochs; epoch++ {
		t0 := time.Now()
		rng.Shuffle(len(l.order), func(i, j int) { l.order[i], l.order[j] = l.order[j], l.order[i] })
		var lossSum, wSum float64
		for start := 0; start < len(l.order); start += l.bs {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("seqnet: %s epoch %d: %w", what, epoch, err)
			}
			rows := l.order[start:min(start+l.bs, len(l.order))]
			bw := l.batchWeights(train.Labels, rows)
			if bw == 0 {
				continue
			}
			loss, scale, ok := batch(rows)
			if !ok {
				continue
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return fmt.Errorf("seqnet: %s epoch %d: loss diverged (%v)", what, epoch, loss)
			}
			l.step(scale)
			lossSum += loss * bw
			wSum += bw
		}
		stop, err := l.endEpoch(ctx, epoch, lossSum, wSum, t0, val, predict)
		if err != nil {
			return err
		}
		if stop {
			break
		}
	}
	l.finish(train, val)
	return nil
}

// finish restores the best epoch's weights (with validation) and records
// the training speed.
func (l *loop) finish(train, val Dataset) {
	if val.Len() > 0 {
		restore(l.params, l.best)
	}
	l.info.SamplesPerSec = float64(l.info.Epochs*train.Len()) / l.trainTime.Seconds()
}
