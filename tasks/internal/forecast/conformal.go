package forecast

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Levels are the nominal coverages of the prediction intervals.
var Levels = [2]float64{0.80, 0.95}

// Band is the forecast of one series from one origin: Horizon point values
// and, per level in Levels, lower and upper bounds.
type Band struct {
	Point        []float64
	Lower, Upper [2][]float64
}

// Conformal wraps a point forecaster with split-conformal prediction
// intervals. Fit trains the base model on the data before the calibration
// window (the last CalDays days), forecasts the window from origins around
// each daily origin, and keeps, per series and horizon, the conformal
// quantiles of the absolute residuals in shifted-log space,
// |log(y + c) − log(ŷ + c)|, with c = max(1, 5 % of the series' mean over
// the window). The intervals are multiplicative around the point forecast,
// exp(log(ŷ + c) ± q) − c, so they widen with volume and never go below
// zero; the shift keeps hours near zero (the night of a small service) from
// turning a few flows of error into a thousandfold band.
// The calibration residuals are out of sample, so the intervals reach their
// nominal coverage when the residuals of the coming day are exchangeable
// with those of the window.
type Conformal struct {
	Base Forecaster
	// CalDays is the calibration window (default 14 days).
	CalDays int
	// Spread adds calibration origins up to Spread hours either side of each
	// daily origin (default 2), giving 2·Spread+1 origins a day.
	Spread int
	// Pool pools the residuals of horizons h−Pool … h+Pool (default 1).
	Pool int
	// Refit retrains the base model on all the data after calibration:
	// fresher point forecasts, intervals no longer strictly split-conformal.
	Refit bool
	// Peaks calibrates the daily peak of the point forecast: a forecast of
	// the conditional mean flattens the day's highest hour, which is the
	// maximum of several noisy busy hours. Fit chooses per series, on the
	// calibration days, whether to set the point forecast of the forecast's
	// peak hour to the base forecast's or the seasonal naive's daily maximum
	// times a calibrated factor (PeakFactor), or to leave it (see
	// calibratePeaks). The intervals stay those of the base forecast
	// (calibrated on its residuals).
	Peaks bool

	q     [][][2]float64 // [series][horizon][level]
	shift []float64      // c per series
	peak  []peakRule     // per series; factor 0: leave the peak as it is
}

// minPeakDays is how many calibration days a peak factor needs.
const minPeakDays = 5

// shiftFraction sets the shift c of the residual space relative to the mean.
const shiftFraction = 0.05

const minCalibration = 20 // residuals for a 95 % quantile below the maximum

// Name is the base model's name.
func (c *Conformal) Name() string { return c.Base.Name() }

// Fit calibrates on the last CalDays days of p and trains the base model.
func (c *Conformal) Fit(ctx context.Context, p *Panel, cal *Calendar) error {
	calDays, spread, pool := c.CalDays, c.Spread, c.Pool
	if calDays <= 0 {
		calDays = 14
	}
	if spread < 0 {
		spread = 0
	} else if spread == 0 {
		spread = 2
	}
	if pool <= 0 {
		pool = 1
	}
	T := p.Hours
	calStart := T - calDays*24
	if calStart < 168+Horizon {
		return fmt.Errorf("forecast: conformal: %d hours of data, need %d for a %d-day calibration window", T, 168+Horizon+calDays*24, calDays)
	}
	if err := c.Base.Fit(ctx, p.Truncate(calStart), cal); err != nil {
		return err
	}
	var origins []int
	mids := DailyOrigins(p, cal, calStart, T)
	for _, mid := range mids {
		for d := -spread; d <= spread; d++ {
			if o := mid + d; o >= calStart && o < T {
				origins = append(origins, o)
			}
		}
	}
	slices.Sort(origins)
	origins = slices.Compact(origins)
	pred, err := c.Base.Predict(ctx, p, cal, origins)
	if err != nil {
		return err
	}
	res := make([][][]float64, len(p.Series)) // [series][h] residuals
	c.shift = make([]float64, len(p.Series))
	for s := range res {
		res[s] = make([][]float64, Horizon)
		var sum float64
		n := 0
		for _, y := range p.Series[s].Values[calStart:T] {
			if !math.IsNaN(y) {
				sum += y
				n++
			}
		}
		c.shift[s] = max(1, shiftFraction*mean(sum, n))
		if math.IsNaN(c.shift[s]) {
			c.shift[s] = 1
		}
	}
	for k, o := range origins {
		for s := range p.Series {
			v := p.Series[s].Values
			for h := range Horizon {
				if o+h >= T || math.IsNaN(v[o+h]) || math.IsNaN(pred[k][s][h]) {
					continue
				}
				sh := c.shift[s]
				res[s][h] = append(res[s][h], math.Abs(math.Log(v[o+h]+sh)-math.Log(max(pred[k][s][h], 0)+sh)))
			}
		}
	}
	c.q = calibrate(res, pool)
	c.peak = make([]peakRule, len(p.Series))
	if c.Peaks {
		c.calibratePeaks(p, origins, mids, pred)
	}
	if c.Refit {
		return c.Base.Fit(ctx, p, cal)
	}
	return nil
}

// peakRule is how the point forecast of a series' peak hour is set: the
// base forecast's daily maximum, or the seasonal naive 168's (last week's
// same day), times factor.
type peakRule struct {
	naive  bool
	factor float64
}

// naivePeak is the highest seasonal naive 168 forecast of the day from
// origin o (NaN when that day has a gap).
func naivePeak(v []float64, o int) float64 {
	m := math.NaN()
	for h := range Horizon {
		x := seasonalValue(v, o, o+h, 168)
		if math.IsNaN(x) {
			return math.NaN()
		}
		if math.IsNaN(m) || x > m {
			m = x
		}
	}
	return m
}

// calibratePeaks sets the peak rule of each series from the fully observed
// calibration days starting at the daily origins mids. Candidates: the base
// forecast's peak and the seasonal naive's, each times the PeakFactor of
// its ratios actual / forecast daily maximum. A candidate replaces the base
// forecast only when it catches at least minPeakGain more calibration days
// by the strict peak-capture rule (peak hour ±1 h and volume within 10 %):
// raising one hour to the expected daily maximum costs MASE on the days
// whose peak falls elsewhere, so a change must pay for itself: it may add at
// most maxPeakMAECost to the absolute error of the calibration days.
func (c *Conformal) calibratePeaks(p *Panel, origins, mids []int, pred [][][]float64) {
	for s := range p.Series {
		v := p.Series[s].Values
		var base, naive []float64
		var days, fcs [][]float64
		var naives []float64
		for _, mid := range mids {
			k, found := slices.BinarySearch(origins, mid)
			if !found || mid+Horizon > p.Hours {
				continue
			}
			day, f := v[mid:mid+Horizon], pred[k][s]
			if slices.ContainsFunc(day, math.IsNaN) || slices.ContainsFunc(f, math.IsNaN) {
				continue
			}
			a, b, n := slices.Max(day), slices.Max(f), naivePeak(v, mid)
			if a <= 0 || b <= 0 || !(n > 0) {
				continue
			}
			base = append(base, a/b)
			naive = append(naive, a/n)
			days, fcs, naives = append(days, day), append(fcs, f), append(naives, n)
		}
		if len(base) < minPeakDays {
			continue
		}
		strict := func(r peakRule) int {
			hits := 0
			for d := range days {
				f := r.apply(fcs[d], naives[d])
				if hour, volume, ok := peakHit(days[d], f); ok && hour && volume {
					hits++
				}
			}
			return hits
		}
		mae := func(r peakRule) float64 {
			var sum float64
			for d := range days {
				for h, y := range r.apply(fcs[d], naives[d]) {
					sum += math.Abs(y - days[d][h])
				}
			}
			return sum
		}
		best, bestHits, baseMAE := peakRule{}, strict(peakRule{}), mae(peakRule{})
		for _, r := range []peakRule{{factor: PeakFactor(base)}, {naive: true, factor: PeakFactor(naive)}} {
			if h := strict(r); h >= bestHits+minPeakGain && mae(r) <= (1+maxPeakMAECost)*baseMAE {
				best, bestHits = r, h
			}
		}
		c.peak[s] = best
	}
}

// minPeakGain is how many more calibration days a peak rule must catch,
// and maxPeakMAECost how much more absolute error (relative) it may cost
// over the calibration days.
const (
	minPeakGain    = 2
	maxPeakMAECost = 0.03
)

// apply returns point with its peak hour set by the rule (point itself for
// no rule); naivePeak is the seasonal naive's daily maximum.
func (r peakRule) apply(point []float64, naivePeak float64) []float64 {
	if r.factor <= 0 || len(point) == 0 {
		return point
	}
	peak := slices.Max(point)
	if r.naive {
		peak = naivePeak
	}
	if math.IsNaN(peak) {
		return point
	}
	out := slices.Clone(point)
	out[argmax(point)] = r.factor * peak
	return out
}

// peakHits counts the ratios r with |f·forecast − actual| ≤ 10 % of actual,
// that is 0.9·r ≤ f ≤ 1.1·r (with a relative tolerance: 0.9·r and 1.1·r
// are themselves candidate factors).
func peakHits(ratios []float64, f float64) int {
	n := 0
	for _, r := range ratios {
		if f >= 0.9*r*(1-1e-12) && f <= 1.1*r*(1+1e-12) {
			n++
		}
	}
	return n
}

// PeakFactor returns the factor φ that catches the most calibration days'
// peak volumes within the strict metric's 10 %: ratios are actual daily
// maximum / forecast daily maximum, and a day is caught when
// |φ·forecast − actual| ≤ 10 % of actual, that is 0.9·r ≤ φ ≤ 1.1·r. Of the
// factors catching the most days it returns the one nearest 1 (the forecast
// changed least); 1 for no ratios.
func PeakFactor(ratios []float64) float64 {
	cands := []float64{1}
	for _, r := range ratios {
		cands = append(cands, 0.9*r, 1.1*r)
	}
	best, bestHits := 1.0, -1
	for _, f := range cands {
		hits := peakHits(ratios, f)
		if hits > bestHits || hits == bestHits && math.Abs(f-1) < math.Abs(best-1) {
			best, bestHits = f, hits
		}
	}
	return best
}

// calibrate turns residuals into conformal quantiles, falling back from
// (series, pooled horizons) to (series, all horizons) to (all series,
// horizon) when there are fewer than minCalibration residuals.
func calibrate(res [][][]float64, pool int) [][][2]float64 {
	byH := make([][]float64, Horizon)
	for s := range res {
		for h := range Horizon {
			byH[h] = append(byH[h], res[s][h]...)
		}
	}
	q := make([][][2]float64, len(res))
	for s := range res {
		var all []float64
		for h := range Horizon {
			all = append(all, res[s][h]...)
		}
		q[s] = make([][2]float64, Horizon)
		for h := range Horizon {
			var r []float64
			for j := max(h-pool, 0); j <= min(h+pool, Horizon-1); j++ {
				r = append(r, res[s][j]...)
			}
			switch {
			case len(r) >= minCalibration:
			case len(all) >= minCalibration:
				r = all
			default:
				r = byH[h]
			}
			for l, a := range Levels {
				q[s][h][l] = ConformalQuantile(r, a)
			}
		}
	}
	return q
}

// ConformalQuantile returns the ⌈(n+1)·level⌉-th smallest of scores (the
// split-conformal quantile), the largest when that rank exceeds n, NaN for
// no scores. scores is sorted in place.
func ConformalQuantile(scores []float64, level float64) float64 {
	n := len(scores)
	if n == 0 {
		return math.NaN()
	}
	slices.Sort(scores)
	k := int(math.Ceil(float64(n+1)*level - 1e-9))
	return scores[min(max(k, 1), n)-1]
}

// Predict returns the bands of every series from each origin.
func (c *Conformal) Predict(ctx context.Context, p *Panel, cal *Calendar, origins []int) ([][]Band, error) {
	return c.predict(ctx, p, cal, origins, c.Peaks)
}

// predict is Predict with the peak calibration on or off.
func (c *Conformal) predict(ctx context.Context, p *Panel, cal *Calendar, origins []int, peaks bool) ([][]Band, error) {
	if c.q == nil {
		return nil, fmt.Errorf("forecast: conformal: not fitted")
	}
	if len(c.q) != len(p.Series) {
		return nil, fmt.Errorf("forecast: conformal: fitted on %d series, asked for %d", len(c.q), len(p.Series))
	}
	pts, err := c.Base.Predict(ctx, p, cal, origins)
	if err != nil {
		return nil, err
	}
	out := make([][]Band, len(origins))
	for k := range origins {
		out[k] = make([]Band, len(p.Series))
		for s := range p.Series {
			b := Band{Point: pts[k][s]}
			for l := range Levels {
				b.Lower[l] = make([]float64, Horizon)
				b.Upper[l] = make([]float64, Horizon)
				sh := c.shift[s]
				for h, y := range b.Point {
					ly, q := math.Log(max(y, 0)+sh), c.q[s][h][l]
					b.Lower[l][h] = max(math.Exp(ly-q)-sh, 0)
					b.Upper[l][h] = math.Exp(ly+q) - sh
				}
			}
			if r := c.peak[s]; peaks && r.factor > 0 {
				b.Point = r.apply(b.Point, naivePeak(p.Series[s].Values, origins[k]))
			}
			out[k][s] = b
		}
	}
	return out, nil
}

// DailyOrigins returns the grid hours of the local midnights in [from, to).
func DailyOrigins(p *Panel, cal *Calendar, from, to int) []int {
	var out []int
	if to <= from {
		return nil
	}
	day := cal.LocalMidnight(p.Time(from))
	for {
		i := p.Index(day)
		if i >= to {
			return out
		}
		if i >= from {
			out = append(out, i)
		}
		// Step by a local day (23, 24 or 25 hours around DST changes).
		l := day.In(cal.Location)
		day = time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, cal.Location).UTC()
	}
}
