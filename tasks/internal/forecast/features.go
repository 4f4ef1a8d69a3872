package forecast

import (
	"math"
	"strconv"
	"time"
)

// The feature row of one (series, origin o, horizon h) sample. Values are in
// log1p space relative to the series level L, the mean log1p value of the
// week before the origin, so that one model serves series of any size and
// the trees never have to extrapolate a level they did not see. The target
// is log1p(y(o+h−1)) − L.
var featureNames = func() []string {
	n := []string{
		"horizon", "hour", "weekday", "off", "holiday", "summer", "break",
		"off_lag24", "off_lag168", "holiday_lag168", "origin_hour",
		"level", "lag24", "lag48", "lag168", "lag336",
		"mean_same_daytype", "mean_same_hour_4w",
		"mean_last24", "mean_last6", "sd_last168", "gap_share168",
	}
	for k := 1; k <= 24; k++ {
		n = append(n, "recent"+strconv.Itoa(k))
	}
	return n
}()

// numFeatures is the length of a feature row.
var numFeatures = len(featureNames)

// hourInfo is the calendar of one grid hour, cached per panel.
type hourInfo struct {
	hour, weekday                     int8
	off, holiday, summer, winterBreak bool
}

// calGrid caches the calendar of grid hours [lo, hi) of a panel.
type calGrid struct {
	lo   int
	info []hourInfo
}

func newCalGrid(cal *Calendar, start time.Time, lo, hi int) *calGrid {
	g := &calGrid{lo: lo, info: make([]hourInfo, hi-lo)}
	for i := lo; i < hi; i++ {
		d := cal.At(start.Add(time.Duration(i) * time.Hour))
		// Monday = 0 … Sunday = 6, so weekend days sort together.
		g.info[i-lo] = hourInfo{
			hour: int8(d.Hour), weekday: int8((int(d.Weekday) + 6) % 7),
			off: d.Off, holiday: d.Holiday, summer: d.Summer, winterBreak: d.Break,
		}
	}
	return g
}

func (g *calGrid) at(i int) hourInfo {
	if j := i - g.lo; j >= 0 && j < len(g.info) {
		return g.info[j]
	}
	return hourInfo{}
}

// logSeries is a series in log1p space with prefix sums for window means.
type logSeries struct {
	lv   []float64 // log1p(v), NaN for gaps
	sum  []float64 // sum[i] = Σ lv[<i] over non-gaps
	sum2 []float64
	cnt  []int32
}

func newLogSeries(v []float64) *logSeries {
	n := len(v)
	s := &logSeries{lv: make([]float64, n), sum: make([]float64, n+1), sum2: make([]float64, n+1), cnt: make([]int32, n+1)}
	for i, x := range v {
		s.sum[i+1], s.sum2[i+1], s.cnt[i+1] = s.sum[i], s.sum2[i], s.cnt[i]
		if math.IsNaN(x) || x < 0 {
			s.lv[i] = math.NaN()
			continue
		}
		l := math.Log1p(x)
		s.lv[i] = l
		s.sum[i+1] += l
		s.sum2[i+1] += l * l
		s.cnt[i+1]++
	}
	return s
}

// window returns the mean, standard deviation and count of lv over [a, b).
func (s *logSeries) window(a, b int) (mean, sd float64, n int) {
	a, b = max(a, 0), min(b, len(s.lv))
	if b <= a {
		return math.NaN(), math.NaN(), 0
	}
	n = int(s.cnt[b] - s.cnt[a])
	if n == 0 {
		return math.NaN(), math.NaN(), 0
	}
	mean = (s.sum[b] - s.sum[a]) / float64(n)
	v := (s.sum2[b]-s.sum2[a])/float64(n) - mean*mean
	return mean, math.Sqrt(max(v, 0)), n
}

// at is lv[i] when i is before the origin o, else NaN.
func (s *logSeries) at(i, o int) float64 {
	if i < 0 || i >= o || i >= len(s.lv) {
		return math.NaN()
	}
	return s.lv[i]
}

// minLevelHours is how many observed hours the week before an origin needs
// for the level (and so for a model forecast).
const minLevelHours = 24

// level returns L at origin o, or NaN when the week before has too few data.
func (s *logSeries) level(o int) float64 {
	m, _, n := s.window(o-168, o)
	if n < minLevelHours {
		return math.NaN()
	}
	return m
}

// features fills row with the features of target hour t = o+h (h 0-based)
// given level L. It reads only lv[<o].
func features(row []float32, s *logSeries, g *calGrid, o, h int, L float64) {
	t := o + h
	ci := g.at(t)
	f := func(x float64) float32 { return float32(x) }
	b := func(x bool) float32 {
		if x {
			return 1
		}
		return 0
	}
	z := func(i int) float32 { return f(s.at(i, o) - L) }
	c24, c168 := g.at(t-24), g.at(t-168)
	row[0] = f(float64(h + 1))
	row[1] = f(float64(ci.hour))
	row[2] = f(float64(ci.weekday))
	row[3] = b(ci.off)
	row[4] = b(ci.holiday)
	row[5] = b(ci.summer)
	row[6] = b(ci.winterBreak)
	row[7] = b(c24.off)
	row[8] = b(c168.off)
	row[9] = b(c168.holiday)
	row[10] = f(float64(g.at(o).hour))
	row[11] = f(L)
	row[12] = z(t - 24)
	row[13] = z(t - 48)
	row[14] = z(t - 168)
	row[15] = z(t - 336)

	// The same hour on the latest (up to five) days of the same kind
	// (working day or day off) within four weeks: the profile a holiday or
	// a Monday should follow, which lag 24 alone gets wrong.
	var sum float64
	n := 0
	for k := 24; k <= 28*24 && n < 5; k += 24 {
		if g.at(t-k).off != ci.off {
			continue
		}
		if x := s.at(t-k, o); !math.IsNaN(x) {
			sum += x
			n++
		}
	}
	row[16] = nanIf(n == 0, sum/float64(max(n, 1))-L)
	sum, n = 0, 0
	for k := 168; k <= 4*168; k += 168 {
		if x := s.at(t-k, o); !math.IsNaN(x) {
			sum += x
			n++
		}
	}
	row[17] = nanIf(n == 0, sum/float64(max(n, 1))-L)
	m24, _, _ := s.window(o-24, o)
	m6, _, _ := s.window(o-6, o)
	_, sd, n168 := s.window(o-168, o)
	row[18] = f(m24 - L)
	row[19] = f(m6 - L)
	row[20] = f(sd)
	row[21] = f(1 - float64(n168)/168)
	for k := 1; k <= 24; k++ {
		row[21+k] = z(o - k)
	}
}

func nanIf(cond bool, x float64) float32 {
	if cond {
		return float32(math.NaN())
	}
	return float32(x)
}
