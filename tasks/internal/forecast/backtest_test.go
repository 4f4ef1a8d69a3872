package forecast

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestConformalCoverage: on series with i.i.d. lognormal noise of known σ
// the split-conformal intervals of the main model and of the seasonal naive
// reach their nominal coverage over a four-week backtest, and the main
// model is sharper than the baseline (its point forecast removes most of
// the structure, so its residuals are close to the noise alone).
func TestConformalCoverage(t *testing.T) {
	cal := testCalendar(t)
	const sigma = 0.15
	p := synthPanel(t, cal, synthSpec{start: "2022-01-03", days: 77, series: 3, sigma: sigma, offFactor: 0.4,
		missing: []string{"2022-02-01"}, seed: 11})
	models := []*Conformal{{Base: fastXGB()}, {Base: SeasonalNaive{168}}}
	rep, err := Backtest(t.Context(), p, cal, models, BacktestConfig{Weeks: 4, RetrainDays: 7, KeepBands: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, mr := range rep.Models {
		g := mr.Groups["all"]
		t.Logf("%s: coverage 80 %.1f, 95 %.1f over %d hours, MASE %.3f", mr.Model, g.Coverage80, g.Coverage95, g.Hours, g.MASE)
		if math.Abs(g.Coverage80-80) > 4 {
			t.Errorf("%s: 80 %% interval covers %.1f %%", mr.Model, g.Coverage80)
		}
		if math.Abs(g.Coverage95-95) > 2.5 {
			t.Errorf("%s: 95 %% interval covers %.1f %%", mr.Model, g.Coverage95)
		}
	}
	// With log-space noise N(0, σ²) a perfect forecast needs a half-width of
	// z·σ (z = 1.2816 at 80 %); the seasonal naive, a difference of two noisy
	// values, needs √2 times that.
	width := func(mr *ModelReport) float64 {
		var sum float64
		n := 0
		for _, bands := range mr.Bands {
			for _, b := range bands {
				for h, y := range b.Point {
					sum += math.Log1p(b.Upper[0][h]) - math.Log1p(y)
					n++
				}
			}
		}
		return sum / float64(n)
	}
	ideal := 1.2816 * sigma
	ours, naive := width(rep.Model("xgb")), width(rep.Model("snaive168"))
	t.Logf("mean log half-width of the 80 %% band: xgb %.3f, snaive168 %.3f, noise alone %.3f", ours, naive, ideal)
	if ours > 1.25*ideal || ours >= naive {
		t.Errorf("xgb band half-width %.3f: want near %.3f and below the seasonal naive's %.3f", ours, ideal, naive)
	}
}

// TestBacktestNoLeakage poisons every value from one origin on and checks
// that the forecasts made at or before that origin do not change (while
// later ones do, so the poison is seen where it is allowed).
func TestBacktestNoLeakage(t *testing.T) {
	cal := testCalendar(t)
	spec := synthSpec{start: "2022-01-03", days: 49, series: 2, sigma: 0.1, offFactor: 0.4, seed: 5}
	clean := synthPanel(t, cal, spec)
	origins := BacktestOrigins(clean, cal, 1)
	cut := origins[3]
	poisoned := synthPanel(t, cal, spec)
	for s := range poisoned.Series {
		v := poisoned.Series[s].Values
		for i := cut; i < len(v); i++ {
			if i%3 == 0 {
				v[i] = math.NaN()
			} else {
				v[i] = 1e12 * float64(i%7+1)
			}
		}
	}
	run := func(p *Panel, retrain int) [][][]Band {
		models := []*Conformal{{Base: fastXGB()}, {Base: SeasonalNaive{168}}, {Base: SeasonalNaive{24}}}
		rep, err := Backtest(context.Background(), p, cal, models, BacktestConfig{Weeks: 1, RetrainDays: retrain, KeepBands: true})
		if err != nil {
			t.Fatal(err)
		}
		var out [][][]Band
		for _, m := range rep.Models {
			out = append(out, m.Bands)
		}
		return out
	}
	for _, retrain := range []int{1, 7} {
		a, b := run(clean, retrain), run(poisoned, retrain)
		for k, o := range origins {
			changed := false
			for m := range a {
				d := cmp.Diff(a[m][k], b[m][k], cmpopts.EquateNaNs())
				changed = changed || d != ""
				if o <= cut && d != "" {
					t.Errorf("retrain every %d, model %d, origin %s (≤ poisoned hour %s): forecast changed:\n%s",
						retrain, m, clean.Time(o), clean.Time(cut), d)
				}
			}
			// The main model reads the last hours before each origin.
			if o > cut && !changed {
				t.Errorf("retrain every %d, origin %s: no forecast reacts to the newer (poisoned) data", retrain, clean.Time(o))
			}
		}
	}
}

func TestTruncateCapsValues(t *testing.T) {
	p := &Panel{Hours: 10, Series: []Series{{Values: make([]float64, 10)}}}
	q := p.Truncate(4)
	if got := cap(q.Series[0].Values); got != 4 {
		t.Fatalf("truncated values have capacity %d: a model could reslice past the origin", got)
	}
}
