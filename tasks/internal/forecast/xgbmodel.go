package forecast

import (
	"context"
	"fmt"
	"math"

	"github.com/telcotraffic/telcotraffic/tasks/internal/xgb"
)

// XGBoost is the main model: one gradient-boosted tree ensemble for all
// series and all 24 horizons (direct multi-horizon, horizon as a feature),
// trained on lag and calendar features in log1p space relative to each
// series' weekly level.
//
// Why direct with one model: a recursive model feeds its own forecasts back
// as lags, so errors compound over 24 steps and the training features
// (true lags) differ from the prediction features (forecast lags); 24
// separate direct models cost 24 trainings and each sees 1/24 of the data.
// One model with the horizon as a feature trains once, sees every sample,
// and learns itself how much the recent hours matter at each horizon.
// Pooling the series (scale-free targets) gives the rare days — holidays,
// the day after a gap — many examples instead of one per series.
type XGBoost struct {
	Params xgb.Params
	Rounds int // boosting rounds (default 300)
	// WindowDays is how many days before the fit origin provide training
	// origins (default 56).
	WindowDays int
	// Stride keeps training origins whose local hour is a multiple of it
	// (default 2; 1 uses every hour, 24 only the daily origin hour).
	Stride int

	booster *xgb.Booster
}

// DefaultXGBoost returns the model with the settings used by the task.
func DefaultXGBoost(threads int) *XGBoost {
	return &XGBoost{
		Params: xgb.Params{
			Objective: xgb.RegSquaredError, Eta: 0.05, MaxDepth: 6, MinChildWeight: 5,
			Subsample: 0.8, ColsampleByTree: 0.8, MaxBin: 64, NumThreads: threads, Seed: 1,
		},
		Rounds: 300, WindowDays: 56, Stride: 24,
	}
}

// Name is "xgb".
func (*XGBoost) Name() string { return "xgb" }

// Close frees the trained booster.
func (m *XGBoost) Close() error {
	if m.booster == nil {
		return nil
	}
	err := m.booster.Close()
	m.booster = nil
	return err
}

// Fit trains on every series of p: origins o with the whole horizon before
// p.Hours, targets that are not gaps.
func (m *XGBoost) Fit(ctx context.Context, p *Panel, cal *Calendar) error {
	rounds, window, stride := m.Rounds, m.WindowDays, m.Stride
	if rounds <= 0 {
		rounds = 300
	}
	if window <= 0 {
		window = 56
	}
	if stride <= 0 {
		stride = 2
	}
	lo := max(p.Hours-window*24, 168)
	hi := p.Hours - Horizon // last origin whose 24 targets are all known
	if hi < lo {
		return fmt.Errorf("forecast: xgb fit: %d hours of history, need at least %d", p.Hours, 168+Horizon+1)
	}
	g := newCalGrid(cal, p.Start, lo-28*24-1, p.Hours)
	var data, labels []float32
	row := make([]float32, numFeatures)
	for s := range p.Series {
		ls := newLogSeries(p.Series[s].Values)
		for o := lo; o <= hi; o++ {
			if int(g.at(o).hour)%stride != 0 {
				continue
			}
			L := ls.level(o)
			if math.IsNaN(L) {
				continue
			}
			for h := range Horizon {
				y := ls.lv[o+h]
				if math.IsNaN(y) {
					continue
				}
				features(row, ls, g, o, h, L)
				data = append(data, row...)
				labels = append(labels, float32(y-L))
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if len(labels) == 0 {
		return fmt.Errorf("forecast: xgb fit: no training samples in %d hours", p.Hours)
	}
	d, err := xgb.NewDMatrix(xgb.Matrix{Data: data, Rows: len(labels), Cols: numFeatures}, m.Params.NumThreads)
	if err != nil {
		return fmt.Errorf("forecast: xgb fit: %w", err)
	}
	defer d.Close()
	if err := d.SetLabels(labels); err != nil {
		return fmt.Errorf("forecast: xgb fit: %w", err)
	}
	if err := d.SetFeatureNames(featureNames); err != nil {
		return fmt.Errorf("forecast: xgb fit: %w", err)
	}
	b, err := xgb.Train(ctx, m.Params, d, xgb.TrainOptions{Rounds: rounds})
	if err != nil {
		return fmt.Errorf("forecast: xgb fit: %w", err)
	}
	m.Close()
	m.booster = b
	return nil
}

// Predict forecasts every series from each origin. A series without a level
// (under a day of data in the week before the origin) gets the seasonal
// naive forecast instead.
func (m *XGBoost) Predict(ctx context.Context, p *Panel, cal *Calendar, origins []int) ([][][]float64, error) {
	if m.booster == nil {
		return nil, fmt.Errorf("forecast: xgb predict: model not fitted")
	}
	lo, hi := p.Hours, 0
	for _, o := range origins {
		if o > p.Hours {
			return nil, fmt.Errorf("forecast: xgb predict: origin %d after the data (%d hours)", o, p.Hours)
		}
		lo, hi = min(lo, o), max(hi, o)
	}
	g := newCalGrid(cal, p.Start, lo-28*24-1, hi+Horizon)
	out := make([][][]float64, len(origins))
	type slot struct{ k, s int }
	var data []float32
	var slots []slot
	var levels []float64
	row := make([]float32, numFeatures)
	for s := range p.Series {
		ls := newLogSeries(p.Series[s].Values)
		for k, o := range origins {
			if out[k] == nil {
				out[k] = make([][]float64, len(p.Series))
			}
			L := ls.level(o)
			if math.IsNaN(L) {
				f := make([]float64, Horizon)
				for h := range f {
					f[h] = seasonalValue(p.Series[s].Values, o, o+h, 168)
				}
				out[k][s] = f
				continue
			}
			for h := range Horizon {
				features(row, ls, g, o, h, L)
				data = append(data, row...)
			}
			slots = append(slots, slot{k, s})
			levels = append(levels, L)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(slots) == 0 {
		return out, nil
	}
	pred, err := m.booster.Predict(xgb.Matrix{Data: data, Rows: len(slots) * Horizon, Cols: numFeatures}, xgb.PredictOptions{})
	if err != nil {
		return nil, fmt.Errorf("forecast: xgb predict: %w", err)
	}
	for j, sl := range slots {
		f := make([]float64, Horizon)
		for h := range f {
			f[h] = max(math.Expm1(float64(pred.Values[j*Horizon+h])+levels[j]), 0)
		}
		out[sl.k][sl.s] = f
	}
	return out, nil
}
