package forecast

import (
	"encoding/json"
	"math"
	"slices"
)

// Metrics are the backtest scores of one model on one series, or a summary
// over many series (see Summarize). Percentages are 0–100; NaN means
// undefined (no such hours) and is written as null in JSON.
type Metrics struct {
	Origins int     // forecasts scored
	Hours   int     // observed hours scored
	RMSE    float64 // per series only: scale-dependent
	MAE     float64 // per series only
	// MAPE is the mean absolute percentage error over hours with non-zero
	// actual traffic.
	MAPE float64
	// SMAPE is the mean of 200·|y−ŷ|/(|y|+|ŷ|) (0 when both are 0).
	SMAPE float64
	// MASE is the mean over origins of the forecast's MAE divided by the
	// in-sample MAE of the seasonal naive forecast with season 168 over the
	// history before the origin; the seasonal naive scores about 1.
	MASE float64
	// Coverage80 and Coverage95 are the shares (%) of observed hours inside
	// the 80 % and 95 % intervals.
	Coverage80, Coverage95 float64
	// PeakCapture is the share (%) of fully observed days whose peak hour is
	// forecast within ±1 h and whose peak volume within 10 %.
	PeakCapture float64
	PeakDays    int
	// PeakHour and PeakVolume split PeakCapture: the shares (%) of those days
	// with the peak hour within ±1 h, and with the peak volume within 10 %.
	PeakHour, PeakVolume float64
	// PeakEventRecall is the capacity planner's score: of the observed
	// hours whose volume exceeds the series' peak threshold at the origin
	// (PeakThreshold: the 95th percentile of the four weeks before it), the
	// share (%) the forecast flagged from that origin, 1–24 h ahead, with its
	// upper 80 % bound reaching the threshold. PeakEventPrecision is the
	// share (%) of flagged observed hours that were such peak events.
	// Forecasts without intervals are left out.
	PeakEventRecall, PeakEventPrecision float64
	PeakEvents, PeakFlags               int // events, flagged hours
}

// MarshalJSON writes snake_case keys and null for undefined values.
func (m Metrics) MarshalJSON() ([]byte, error) {
	f := func(x float64) any {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return roundSig(x, 6)
	}
	return json.Marshal(map[string]any{
		"origins": m.Origins, "hours": m.Hours, "rmse": f(m.RMSE), "mae": f(m.MAE),
		"mape": f(m.MAPE), "smape": f(m.SMAPE), "mase": f(m.MASE),
		"coverage_80": f(m.Coverage80), "coverage_95": f(m.Coverage95),
		"peak_capture": f(m.PeakCapture), "peak_days": m.PeakDays,
		"peak_hour": f(m.PeakHour), "peak_volume": f(m.PeakVolume),
		"peak_event_recall": f(m.PeakEventRecall), "peak_event_precision": f(m.PeakEventPrecision),
		"peak_events": m.PeakEvents, "peak_flags": m.PeakFlags,
	})
}

func roundSig(x float64, digits int) float64 {
	if x == 0 {
		return 0
	}
	p := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// Scorer accumulates the errors of one model on one series over origins.
type Scorer struct {
	origins, hours       int
	sse, sae             float64
	ape                  float64
	apeN                 int
	sape                 float64
	mase                 float64
	maseN                int
	covered              [2]int
	coverN               int
	peakHits, peakDays   int
	hourHits, volumeHits int
	// Peak events: events, flagged hours, flagged events.
	events, flags, caught int
}

// Add scores one forecast. actual has the observed values of the forecast
// hours (NaN for gaps); scale is the MASE denominator at the origin (see
// MASEScale; ≤ 0 or NaN leaves the origin out of MASE). Bands without
// intervals (nil bounds) are left out of coverage.
func (a *Scorer) Add(actual []float64, b Band, scale float64) {
	a.origins++
	var ae float64
	n := 0
	complete := true
	for h, y := range actual {
		p := b.Point[h]
		if math.IsNaN(y) || math.IsNaN(p) {
			complete = false
			continue
		}
		e := y - p
		n++
		ae += math.Abs(e)
		a.sse += e * e
		a.sae += math.Abs(e)
		if y != 0 {
			a.ape += math.Abs(e / y)
			a.apeN++
		}
		if d := math.Abs(y) + math.Abs(p); d > 0 {
			a.sape += 2 * math.Abs(e) / d
		}
		if b.Lower[0] != nil {
			a.coverN++
			for l := range Levels {
				if y >= b.Lower[l][h] && y <= b.Upper[l][h] {
					a.covered[l]++
				}
			}
		}
	}
	a.hours += n
	if n > 0 && scale > 0 && !math.IsNaN(scale) {
		a.mase += ae / float64(n) / scale
		a.maseN++
	}
	if complete && len(actual) > 0 {
		if hour, volume, ok := peakHit(actual, b.Point); ok {
			a.peakDays++
			a.hourHits += b2i(hour)
			a.volumeHits += b2i(volume)
			a.peakHits += b2i(hour && volume)
		}
	}
}

// AddPeakEvents scores the peak events of one forecast: actual are the
// observed values of the forecast hours (NaN for gaps), upper the forecast's
// upper 80 % bound, threshold the series' peak threshold at the origin (see
// PeakThreshold). An hour is an event when its actual volume exceeds the
// threshold and flagged when upper reaches it. A NaN threshold or a nil
// upper bound adds nothing.
func (a *Scorer) AddPeakEvents(actual, upper []float64, threshold float64) {
	if upper == nil || math.IsNaN(threshold) {
		return
	}
	for h, y := range actual {
		u := upper[h]
		if math.IsNaN(y) || math.IsNaN(u) {
			continue
		}
		event, flag := y > threshold, u >= threshold
		a.events += b2i(event)
		a.flags += b2i(flag)
		a.caught += b2i(event && flag)
	}
}

// PeakWindow is the trailing window of PeakThreshold: four weeks.
const PeakWindow = 4 * 168

// PeakLevel is the percentile of PeakThreshold.
const PeakLevel = 0.95

// PeakThreshold is the peak threshold of series v at origin o: the 95th
// percentile of the observed hours of the four weeks before o, linearly
// interpolated between order statistics (numpy's default). NaN when those
// weeks hold fewer than a week of observed hours.
func PeakThreshold(v []float64, o int) float64 {
	var w []float64
	for _, x := range v[max(o-PeakWindow, 0):min(o, len(v))] {
		if !math.IsNaN(x) {
			w = append(w, x)
		}
	}
	if len(w) < 168 {
		return math.NaN()
	}
	return Percentile(w, PeakLevel)
}

// Percentile returns the q-quantile of x (0 ≤ q ≤ 1) by linear
// interpolation between the order statistics at ranks ⌊q·(n−1)⌋ and
// ⌈q·(n−1)⌉; NaN for no values. x is sorted in place.
func Percentile(x []float64, q float64) float64 {
	n := len(x)
	if n == 0 {
		return math.NaN()
	}
	slices.Sort(x)
	pos := q * float64(n-1)
	i := int(math.Floor(pos))
	if i >= n-1 {
		return x[n-1]
	}
	return x[i] + (pos-float64(i))*(x[i+1]-x[i])
}

// peakHit reports whether the forecast catches the day's peak hour (within
// ±1 h) and its volume (within 10 %). ok is false for an all-zero day.
func peakHit(actual, point []float64) (hour, volume, ok bool) {
	pa, pf := argmax(actual), argmax(point)
	if actual[pa] <= 0 {
		return false, false, false
	}
	d := pa - pf
	return d >= -1 && d <= 1, math.Abs(point[pf]-actual[pa]) <= 0.10*actual[pa], true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Metrics returns the scores so far.
func (a *Scorer) Metrics() Metrics {
	div := func(x float64, n int) float64 {
		if n == 0 {
			return math.NaN()
		}
		return x / float64(n)
	}
	return Metrics{
		Origins: a.origins, Hours: a.hours,
		RMSE:        math.Sqrt(div(a.sse, a.hours)),
		MAE:         div(a.sae, a.hours),
		MAPE:        100 * div(a.ape, a.apeN),
		SMAPE:       100 * div(a.sape, a.hours),
		MASE:        div(a.mase, a.maseN),
		Coverage80:  100 * div(float64(a.covered[0]), a.coverN),
		Coverage95:  100 * div(float64(a.covered[1]), a.coverN),
		PeakCapture: 100 * div(float64(a.peakHits), a.peakDays),
		PeakDays:    a.peakDays,
		PeakHour:    100 * div(float64(a.hourHits), a.peakDays),
		PeakVolume:  100 * div(float64(a.volumeHits), a.peakDays),

		PeakEventRecall:    100 * div(float64(a.caught), a.events),
		PeakEventPrecision: 100 * div(float64(a.caught), a.flags),
		PeakEvents:         a.events,
		PeakFlags:          a.flags,
	}
}

// Summarize aggregates the scorers of many series: MAPE, sMAPE and MASE are
// the means of the per-series values (each series counts once, whatever its
// size); coverage, peak capture and peak events pool all hours and days. RMSE and MAE are
// undefined across series of different scales (NaN).
func Summarize(scorers []*Scorer) Metrics {
	var tot Scorer
	var mape, smape, mase float64
	var nMape, nSmape, nMase int
	for _, a := range scorers {
		m := a.Metrics()
		tot.origins += a.origins
		tot.hours += a.hours
		tot.covered[0] += a.covered[0]
		tot.covered[1] += a.covered[1]
		tot.coverN += a.coverN
		tot.peakHits += a.peakHits
		tot.peakDays += a.peakDays
		tot.hourHits += a.hourHits
		tot.volumeHits += a.volumeHits
		tot.events += a.events
		tot.flags += a.flags
		tot.caught += a.caught
		if !math.IsNaN(m.MAPE) {
			mape += m.MAPE
			nMape++
		}
		if !math.IsNaN(m.SMAPE) {
			smape += m.SMAPE
			nSmape++
		}
		if !math.IsNaN(m.MASE) {
			mase += m.MASE
			nMase++
		}
	}
	m := tot.Metrics()
	m.RMSE, m.MAE = math.NaN(), math.NaN()
	m.MAPE, m.SMAPE, m.MASE = mean(mape, nMape), mean(smape, nSmape), mean(mase, nMase)
	return m
}

func mean(sum float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// MASEScale is the MASE denominator at origin o: the mean absolute
// difference |y(t) − y(t−season)| over the pairs before o where both are
// observed. NaN when there is no pair.
func MASEScale(v []float64, o, season int) float64 {
	var sum float64
	n := 0
	for t := season; t < min(o, len(v)); t++ {
		a, b := v[t], v[t-season]
		if math.IsNaN(a) || math.IsNaN(b) {
			continue
		}
		sum += math.Abs(a - b)
		n++
	}
	return mean(sum, n)
}
