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
	// maximum of several noisy busy hours, and puts it at the hour of the
	// highest mean, where on a plateau of busy hours the peak often is not.
	// Fit chooses per series, on the calibration days, whether to move the
	// daily peak to the usual peak hour of recent days and to set it to a
	// daily maximum (the base forecast's, the seasonal naive's, recent
	// days', recent weeks' same weekday's) times a calibrated factor
	// (PeakFactor), or to leave it (see calibratePeaks). The intervals stay those of the base forecast
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
		return fmt.Errorf("%w: conformal: %d hours of data, need %d for a %d-day calibration window", ErrTooLittleData, T, 168+Horizon+calDays*24, calDays)
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
		c.calibratePeaks(p, cal, origins, mids, pred)
	}
	if c.Refit {
		return c.Base.Fit(ctx, p, cal)
	}
	return nil
}

// peakRule is how the point forecast of a series' daily peak is set: which
// hour carries it (the base forecast's highest, or the usual peak hour of
// recent days of the same kind) and its volume (a daily maximum: the base
// forecast's, the seasonal naive 168's, or a median over recent days; see
// peakCtx) times factor. factor 0: no rule.
type peakRule struct {
	hour   peakSource // peakBase or peakRecent
	volume peakSource // peakBase, peakNaive or peakRecent
	factor float64
}

// peakSource names where a rule takes the peak hour or volume from.
type peakSource uint8

const (
	peakBase   peakSource = iota // the base forecast's own
	peakNaive                    // the seasonal naive 168's (volume only)
	peakRecent                   // recent days of the same kind (see peakContext)
	peakWeekly                   // the same weekday of recent weeks (volume only)
)

// peakDays is how many recent days of the same kind (working day or day
// off) within five weeks peakContext reads.
const peakDays = 8

// peakCtx is what a peak rule knows at an origin besides the forecast: the
// seasonal naive's daily maximum, the median daily maximum of the latest
// (up to five) fully observed days of the same kind, the median daily
// maximum of the same weekday of the last (up to three, of four) weeks
// when of the same kind (NaN for fewer than two), and the hour (offset
// from the origin) at the centre of the three-hour window holding the most
// peak hours of the latest peakDays such days (-1 for fewer than three).
type peakCtx struct {
	naive, recent, weekly float64
	hour                  int
}

// peakContext computes the peakCtx of series v at origin o from the hours
// before o.
func peakContext(v []float64, g *calGrid, o int) peakCtx {
	pc := peakCtx{naive: naivePeak(v, o), recent: math.NaN(), weekly: math.NaN(), hour: -1}
	var weekly []float64
	for w := 1; w <= 4 && len(weekly) < 3; w++ {
		if a := o - 168*w; a >= 0 {
			if day := v[a : a+Horizon]; !slices.ContainsFunc(day, math.IsNaN) && g.at(a+12).off == g.at(o+12).off {
				weekly = append(weekly, slices.Max(day))
			}
		}
	}
	if len(weekly) >= 2 {
		pc.weekly = Percentile(weekly, 0.5)
	}
	off := g.at(o + 12).off
	var maxima []float64
	var hist [Horizon]int
	n := 0
	for d := 1; d <= 35 && n < peakDays; d++ {
		a := o - 24*d
		if a < 0 {
			break
		}
		if g.at(a+12).off != off {
			continue
		}
		day := v[a : a+Horizon]
		if slices.ContainsFunc(day, math.IsNaN) {
			continue
		}
		n++
		if len(maxima) < 5 {
			maxima = append(maxima, slices.Max(day))
		}
		hist[argmax(day)]++
	}
	if len(maxima) >= 3 {
		pc.recent = Percentile(maxima, 0.5)
	}
	if n >= 3 {
		best := -1
		for c := range Horizon {
			w := hist[c]
			if c > 0 {
				w += hist[c-1]
			}
			if c < Horizon-1 {
				w += hist[c+1]
			}
			if w > best || w == best && hist[c] > hist[pc.hour] {
				best, pc.hour = w, c
			}
		}
	}
	return pc
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

// peakVolume is the daily maximum a rule scales (NaN when unknown).
func (r peakRule) peakVolume(point []float64, pc peakCtx) float64 {
	switch r.volume {
	case peakNaive:
		return pc.naive
	case peakRecent:
		return pc.recent
	case peakWeekly:
		return pc.weekly
	}
	return slices.Max(point)
}

// calibratePeaks sets the peak rule of each series from the fully observed
// calibration days starting at the daily origins mids. Candidates: every
// peak hour (the base forecast's or the recent days') with every daily
// maximum (the base forecast's, the seasonal naive's, the recent days', the
// same weekday's of recent weeks), each times the PeakFactor of its ratios
// actual / candidate daily maximum. A candidate replaces the base forecast
// only when it catches at least minPeakHits calibration days and
// minPeakGain more than the base by the strict peak-capture rule (peak
// hour ±1 h and volume within 10 %): moving one hour to the expected daily
// maximum costs MASE on the days whose peak falls elsewhere, so a change
// must pay for itself: it may add at most maxPeakMAECost to the absolute
// error of the calibration days. Of the candidates catching the most days
// the one with the least error wins.
func (c *Conformal) calibratePeaks(p *Panel, cal *Calendar, origins, mids []int, pred [][][]float64) {
	g := newCalGrid(cal, p.Start, 0, p.Hours+Horizon)
	for s := range p.Series {
		v := p.Series[s].Values
		var days, fcs [][]float64
		var pcs []peakCtx
		for _, mid := range mids {
			k, found := slices.BinarySearch(origins, mid)
			if !found || mid+Horizon > p.Hours {
				continue
			}
			day, f := v[mid:mid+Horizon], pred[k][s]
			if slices.ContainsFunc(day, math.IsNaN) || slices.ContainsFunc(f, math.IsNaN) || slices.Max(day) <= 0 {
				continue
			}
			days, fcs, pcs = append(days, day), append(fcs, f), append(pcs, peakContext(v, g, mid))
		}
		if len(days) < minPeakDays {
			continue
		}
		score := func(r peakRule) (hits int, mae float64) {
			for d := range days {
				f := r.apply(fcs[d], pcs[d])
				if hour, volume, ok := peakHit(days[d], f); ok && hour && volume {
					hits++
				}
				for h, y := range f {
					mae += math.Abs(y - days[d][h])
				}
			}
			return hits, mae
		}
		best := peakRule{}
		bestHits, baseMAE := score(best)
		bestMAE := baseMAE
		need := bestHits + minPeakGain
		for _, hour := range []peakSource{peakBase, peakRecent} {
			for _, volume := range []peakSource{peakBase, peakNaive, peakRecent, peakWeekly} {
				r := peakRule{hour: hour, volume: volume, factor: 1}
				var ratios []float64
				for d := range days {
					if m := r.peakVolume(fcs[d], pcs[d]); m > 0 {
						ratios = append(ratios, slices.Max(days[d])/m)
					}
				}
				if len(ratios) < minPeakDays {
					continue
				}
				r.factor = PeakFactor(ratios)
				h, e := score(r)
				if h >= need && h >= minPeakHits && e <= (1+maxPeakMAECost)*baseMAE && (h > bestHits || h == bestHits && e < bestMAE) {
					best, bestHits, bestMAE = r, h, e
				}
			}
		}
		c.peak[s] = best
	}
}

// A peak rule must catch at least minPeakHits calibration days and
// minPeakGain more than the base forecast, and may cost at most
// maxPeakMAECost more absolute error (relative) over the calibration days.
// Chosen on the demo window (README, "Forecast peaks"): a rule that must
// catch ≥ 2 more days of about 13 is rarely adopted, one that may catch
// 1–2 days is adopted on noise (bytes series, whose peaks are single
// elephant flows), and a tighter cost keeps the daily maximum off the small
// categories whose maximum is twice their mean.
const (
	minPeakHits    = 3
	minPeakGain    = 1
	maxPeakMAECost = 0.20
)

// apply returns point with its daily peak set by the rule (point itself for
// no rule or an unknown daily maximum): the rule's peak hour gets the rule's
// volume, and no other hour stays above it.
func (r peakRule) apply(point []float64, pc peakCtx) []float64 {
	if r.factor <= 0 || len(point) == 0 {
		return point
	}
	peak := r.peakVolume(point, pc)
	if math.IsNaN(peak) || peak <= 0 {
		return point
	}
	at := argmax(point)
	if r.hour == peakRecent && pc.hour >= 0 && pc.hour < len(point) {
		at = pc.hour
	}
	vol := r.factor * peak
	out := slices.Clone(point)
	below := math.Nextafter(vol, 0)
	for h := range out {
		if h != at && out[h] >= vol {
			out[h] = below
		}
	}
	out[at] = vol
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
	var g *calGrid
	if peaks && len(origins) > 0 {
		g = newCalGrid(cal, p.Start, slices.Min(origins)-36*24, slices.Max(origins)+Horizon)
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
				b.Point = r.apply(b.Point, peakContext(p.Series[s].Values, g, origins[k]))
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
