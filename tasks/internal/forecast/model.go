package forecast

import (
	"context"
	"math"
)

// Forecaster makes point forecasts of every series of a panel.
//
// Fit and Predict receive truncated panels (Panel.Truncate): everything they
// can read was known at the forecast origin. Predict returns, for each
// origin o (≤ p.Hours) and series s, Horizon forecasts of hours o … o+23
// from the values before o only.
type Forecaster interface {
	Name() string
	Fit(ctx context.Context, p *Panel, cal *Calendar) error
	Predict(ctx context.Context, p *Panel, cal *Calendar, origins []int) ([][][]float64, error)
}

// SeasonalNaive repeats the value one season earlier: y(t) = y(t − Season).
// Season 24 repeats yesterday, 168 the same hour last week. When that value
// is a gap it steps further back by whole seasons (up to four), then by whole
// days, so a missing day does not hole the forecast.
type SeasonalNaive struct{ Season int }

// Name is "snaive24" or "snaive168".
func (m SeasonalNaive) Name() string {
	if m.Season == 24 {
		return "snaive24"
	}
	if m.Season == 168 {
		return "snaive168"
	}
	return "snaive"
}

// Fit does nothing: the model has no parameters.
func (SeasonalNaive) Fit(context.Context, *Panel, *Calendar) error { return nil }

// Predict repeats the last season.
func (m SeasonalNaive) Predict(_ context.Context, p *Panel, _ *Calendar, origins []int) ([][][]float64, error) {
	out := make([][][]float64, len(origins))
	for k, o := range origins {
		out[k] = make([][]float64, len(p.Series))
		for s := range p.Series {
			v := p.Series[s].Values
			f := make([]float64, Horizon)
			for h := range Horizon {
				f[h] = seasonalValue(v, o, o+h, m.Season)
			}
			out[k][s] = f
		}
	}
	return out, nil
}

// seasonalValue is the value of v at the latest hour t − k·season before
// origin o (k ≥ 1, up to four seasons), falling back to t − k·24 (up to
// 28 days). NaN when all are gaps.
func seasonalValue(v []float64, o, t, season int) float64 {
	get := func(i int) float64 {
		if i < 0 || i >= o || i >= len(v) {
			return math.NaN()
		}
		return v[i]
	}
	first := t - season
	for first >= o {
		first -= season
	}
	for k := range 4 {
		if x := get(first - k*season); !math.IsNaN(x) {
			return x
		}
	}
	for i := t - 24; i >= t-28*24; i -= 24 {
		if x := get(i); !math.IsNaN(x) {
			return x
		}
	}
	return math.NaN()
}
