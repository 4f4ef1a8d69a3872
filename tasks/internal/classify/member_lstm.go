package classify

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/seqnet"
)

// LSTMConfig sets the LSTM member: the seed design's masked LSTM over the
// packet sequence (30 × IPT, direction, size → 64 units → softmax). Its
// budget is bounded as the sequence net's: at most MaxRows training rows and
// MaxValRows validation rows scored after each epoch.
type LSTMConfig struct {
	Net        seqnet.LSTMConfig
	Train      seqnet.TrainConfig // OnEpoch is set by Fit
	MaxRows    int                // default 30000
	MaxValRows int                // default 10000
}

func (c LSTMConfig) withDefaults() LSTMConfig {
	if c.MaxRows == 0 {
		c.MaxRows = 30000
	}
	if c.MaxValRows == 0 {
		c.MaxValRows = 10000
	}
	if c.Train.MaxEpochs == 0 {
		c.Train.MaxEpochs = 10
	}
	// As the sequence net's: on the demo's rows a cosine schedule peaking
	// at 1e-2 reaches validation macro-F1 0.43 after 8 epochs against 0.31
	// at a constant 3e-3 (make bench-seqnet).
	if c.Train.LearnRate == 0 {
		c.Train.LearnRate = 1e-2
		if c.Train.Schedule == "" {
			c.Train.Schedule = "cosine"
		}
	}
	return c
}

// LSTMMember is the LSTM member over the packet sequence of the net view.
type LSTMMember struct {
	Config LSTMConfig
	m      *seqnet.LSTM
}

// Kind implements Member.
func (m *LSTMMember) Kind() string { return "lstm" }

// Fit implements Member.
func (m *LSTMMember) Fit(ctx context.Context, train, val *Inputs, progress io.Writer) error {
	c := m.Config.withDefaults()
	if _, err := labelsOf(train, "lstm train"); err != nil {
		return err
	}
	seed := c.Train.Seed
	train = subsample(train, c.MaxRows, seed)
	t0 := time.Now()
	tc := c.Train
	tc.OnEpoch = func(s seqnet.EpochStats) error {
		if progress != nil {
			fmt.Fprintf(progress, "classify: lstm epoch %d: train loss %.4f, val loss %.4f, val macro-F1 %.4f (%.0fs)\n",
				s.Epoch, s.TrainLoss, s.ValLoss, s.ValMacroF1, time.Since(t0).Seconds())
		}
		return nil
	}
	tr := seqnet.Dataset{Batch: train.Net(), Labels: train.Labels}
	var vd seqnet.Dataset
	if val != nil && val.Len() > 0 {
		if _, err := labelsOf(val, "lstm validation"); err != nil {
			return err
		}
		val = subsample(val, c.MaxValRows, seed+1)
		vd = seqnet.Dataset{Batch: val.Net(), Labels: val.Labels}
	}
	model, err := seqnet.TrainLSTM(ctx, c.Net, tc, slices.Clone(train.t.Classes), tr, vd)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	m.m = model
	if progress != nil {
		info := model.Info()
		fmt.Fprintf(progress, "classify: lstm: %d epochs (best %d) on %d rows in %.1fs, %.0f rows/s\n",
			info.Epochs, info.BestEpoch, train.Len(), time.Since(t0).Seconds(), info.SamplesPerSec)
	}
	return nil
}

// PredictProba implements Member.
func (m *LSTMMember) PredictProba(ctx context.Context, in *Inputs) ([]float32, error) {
	if m.m == nil {
		return nil, fmt.Errorf("classify: lstm: not trained")
	}
	if in.Len() == 0 {
		return nil, nil
	}
	p, err := m.m.Predict(ctx, in.Net())
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	return p, nil
}

// Model returns the trained LSTM (nil before Fit).
func (m *LSTMMember) Model() *seqnet.LSTM { return m.m }

// Save implements Member (seqnet.LSTMWeightsFile, seqnet.LSTMConfigFile).
func (m *LSTMMember) Save(dir string) error {
	if m.m == nil {
		return fmt.Errorf("classify: lstm: not trained")
	}
	if err := m.m.Save(dir); err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	return nil
}

func loadLSTM(dir string, t *Transforms) (Member, error) {
	model, err := seqnet.LoadLSTM(dir)
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	if !slices.Equal(model.Classes(), t.Classes) {
		return nil, fmt.Errorf("classify: lstm model in %s: %d classes; transforms have %d", dir, len(model.Classes()), len(t.Classes))
	}
	return &LSTMMember{m: model}, nil
}

// SetThreads implements Member; the LSTM runs on one goroutine per call.
func (m *LSTMMember) SetThreads(int) error { return nil }

// Close implements Member.
func (m *LSTMMember) Close() error { return nil }
