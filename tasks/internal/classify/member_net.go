package classify

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// netModel is what the net members need of a trained seqnet model
// (*seqnet.Model, *seqnet.LSTM, *seqnet.MM).
type netModel interface {
	comparable
	Predict(context.Context, seqnet.Batch) ([]float32, error)
	Save(dir string) error
	Info() seqnet.TrainInfo
}

// netMember is the part the net members (SeqnetMember, LSTMMember,
// MMMember) share:
// the bounded training run over the net view with progress lines, and
// prediction and saving of the trained model.
type netMember[M netModel] struct {
	kind string // set by fit and load
	m    M
}

// netTrainer trains one kind of net on datasets of the net view.
type netTrainer[M netModel] func(ctx context.Context, tc seqnet.TrainConfig, classes []string, train, val seqnet.Dataset) (M, error)

// fit trains the member on at most maxRows training rows and maxValRows
// validation rows (seeded subsamples), printing each epoch to progress.
func (n *netMember[M]) fit(ctx context.Context, kind string, tc seqnet.TrainConfig, maxRows, maxValRows int,
	train, val *Inputs, progress io.Writer, trainNet netTrainer[M]) error {
	n.kind = kind
	if _, err := labelsOf(train, kind+" train"); err != nil {
		return err
	}
	seed := tc.Seed
	train = subsample(train, maxRows, seed)
	t0 := time.Now()
	tc.OnEpoch = func(s seqnet.EpochStats) error {
		if progress != nil {
			fmt.Fprintf(progress, "classify: %s epoch %d: train loss %.4f, val loss %.4f, val macro-F1 %.4f (%.0fs)\n",
				kind, s.Epoch, s.TrainLoss, s.ValLoss, s.ValMacroF1, time.Since(t0).Seconds())
		}
		return nil
	}
	tr := seqnet.Dataset{Batch: train.Net(), Labels: train.Labels}
	vd := seqnet.Dataset{Batch: seqnet.Batch{FlowDim: tr.FlowDim}}
	if val != nil && val.Len() > 0 {
		if _, err := labelsOf(val, kind+" validation"); err != nil {
			return err
		}
		val = subsample(val, maxValRows, seed+1)
		vd = seqnet.Dataset{Batch: val.Net(), Labels: val.Labels}
	}
	model, err := trainNet(ctx, tc, slices.Clone(train.t.Classes), tr, vd)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	n.m = model
	if progress != nil {
		info := model.Info()
		fmt.Fprintf(progress, "classify: %s: %d epochs (best %d) on %d rows in %.1fs, %.0f rows/s\n",
			kind, info.Epochs, info.BestEpoch, train.Len(), time.Since(t0).Seconds(), info.SamplesPerSec)
	}
	return nil
}

func (n *netMember[M]) trained() error {
	var zero M
	if n.m == zero {
		return fmt.Errorf("classify: %s: not trained", cmp.Or(n.kind, "net member"))
	}
	return nil
}

// PredictProba implements Member.
func (n *netMember[M]) PredictProba(ctx context.Context, in *Inputs) ([]float32, error) {
	if err := n.trained(); err != nil {
		return nil, err
	}
	if in.Len() == 0 {
		return nil, nil
	}
	p, err := n.m.Predict(ctx, in.Net())
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	return p, nil
}

// Model returns the trained net (nil before Fit).
func (n *netMember[M]) Model() M { return n.m }

// Save implements Member: the weights in safetensors format and the config
// with the fitted scalers (seqnet.WeightsFile and seqnet.ConfigFile, or
// seqnet.LSTMWeightsFile and seqnet.LSTMConfigFile).
func (n *netMember[M]) Save(dir string) error {
	if err := n.trained(); err != nil {
		return err
	}
	if err := n.m.Save(dir); err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	return nil
}

// SetThreads implements Member; a net runs on one goroutine per call.
func (n *netMember[M]) SetThreads(int) error { return nil }
