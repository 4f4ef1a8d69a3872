package synth

import (
	"math"
	"time"
)

// The calendar decides how many flows a day gets and when in the day they
// start. Figures from DATASET.md §1 and §5.3: weekday ≫ weekend (a weekend day
// ≈ 30–35 % of a weekday, CESNET-QUIC22 file sizes), holidays like a Sunday,
// an academic summer dip (Jul/Aug ≈ 0.65 × June), per-month means from the
// DataZoo XS notebook and JW's counts.

// monthFactor scales each month of the year; only ratios matter. Set so
// that, with 2022's weekends and holidays, the generated month means match
// the real ones relative to June (1.62 M/day): July 0.62, August 0.65,
// September 0.82, October 0.87, November–December 0.80.
var monthFactor = [12]float64{1.45, 1.52, 1.60, 1.55, 1.58, 1.62, 1.145, 1.05, 1.41, 1.51, 1.47, 1.33}

// weekdayFactor is indexed by time.Weekday (Sunday = 0).
var weekdayFactor = [7]float64{0.35, 1.00, 1.03, 1.02, 0.98, 0.70, 0.30}

const (
	holidayFactor   = 0.35 // a public holiday looks like a Sunday
	christmasFactor = 0.50 // Dec 23 – Jan 1: students and staff away
	dayNoiseSigma   = 0.05 // day-to-day lognormal noise on the volume
)

// MissingDays2022 are the dates without data in CESNET-TLS-Year22
// (DATASET.md §1, DataZoo metadata): their flow files are zero bytes.
func MissingDays2022() []time.Time {
	return dates("2022-01-28", "2022-01-29", "2022-01-30", "2022-12-12", "2022-12-13",
		"2022-12-29", "2022-12-30", "2022-12-31")
}

func dates(s ...string) []time.Time {
	out := make([]time.Time, len(s))
	for i, d := range s {
		t, err := time.Parse(dayLayout, d)
		if err != nil {
			panic(err)
		}
		out[i] = t
	}
	return out
}

const dayLayout = "2006-01-02"

// dayKey is a day as days since the Unix epoch (UTC midnight).
func dayKey(t time.Time) int64 {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// calendar answers per-day questions for a configuration.
type calendar struct {
	holidays map[int64]bool
	missing  map[int64]bool
	yearMean map[int]float64 // mean factor over the data days of a year
}

func newCalendar(holidays, missing []time.Time) *calendar {
	c := &calendar{holidays: map[int64]bool{}, missing: map[int64]bool{}, yearMean: map[int]float64{}}
	for _, d := range holidays {
		c.holidays[dayKey(d)] = true
	}
	for _, d := range missing {
		c.missing[dayKey(d)] = true
	}
	return c
}

func (c *calendar) isMissing(day time.Time) bool { return c.missing[dayKey(day)] }

// isOff reports whether a day is a weekend day or a public holiday (the
// traffic mix of such days leans to leisure).
func (c *calendar) isOff(day time.Time) bool {
	wd := day.Weekday()
	return wd == time.Saturday || wd == time.Sunday || c.holidays[dayKey(day)]
}

// factor is the relative volume of a day before normalisation (0 for a
// missing day).
func (c *calendar) factor(day time.Time) float64 {
	if c.isMissing(day) {
		return 0
	}
	f := weekdayFactor[day.Weekday()]
	if c.holidays[dayKey(day)] {
		f = math.Min(f, holidayFactor)
	}
	if (day.Month() == time.December && day.Day() >= 23) || (day.Month() == time.January && day.Day() == 1) {
		f = math.Min(f, christmasFactor)
	}
	return f * monthFactor[day.Month()-1]
}

// volume is the expected number of flows of a day: flowsPerDay is the mean
// over the data days of the day's calendar year, so a day's volume does not
// depend on which range is generated.
func (c *calendar) volume(day time.Time, flowsPerDay int) float64 {
	f := c.factor(day)
	if f == 0 {
		return 0
	}
	y := day.Year()
	mean, ok := c.yearMean[y]
	if !ok {
		var sum float64
		n := 0
		for d := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == y; d = d.AddDate(0, 0, 1) {
			if v := c.factor(d); v > 0 {
				sum += v
				n++
			}
		}
		mean = sum / float64(n)
		c.yearMean[y] = mean
	}
	return float64(flowsPerDay) * f / mean
}

// Hour-of-day profiles (local time, Europe/Prague) per traffic family, for
// working days and days off. Work traffic follows office hours, leisure
// peaks in the evening, background (telemetry, push, updates) is flat.
var hourProfile = [numFamilies][2][24]float64{
	famWork: {
		{0.8, 0.5, 0.4, 0.35, 0.35, 0.5, 1.2, 3.0, 6.5, 8.5, 9.0, 8.8, 8.0, 8.5, 8.6, 8.2, 7.0, 5.0, 3.5, 2.8, 2.5, 2.2, 1.8, 1.2},
		{1.5, 1.0, 0.8, 0.6, 0.6, 0.6, 0.8, 1.5, 3.0, 5.0, 6.5, 7.0, 7.0, 7.0, 7.0, 6.8, 6.5, 6.0, 5.5, 5.2, 5.0, 4.5, 3.5, 2.5},
	},
	famLeisure: {
		{3.0, 1.8, 1.0, 0.7, 0.6, 0.7, 1.2, 2.2, 3.2, 3.8, 4.2, 4.6, 5.0, 5.0, 5.0, 5.0, 5.2, 5.6, 6.2, 6.8, 7.2, 7.4, 6.8, 4.8},
		{4.0, 3.0, 2.0, 1.2, 0.8, 0.7, 0.8, 1.3, 2.3, 3.5, 4.5, 5.2, 5.5, 5.5, 5.5, 5.5, 5.6, 5.8, 6.2, 6.6, 6.8, 6.6, 5.8, 4.5},
	},
	famBackground: {
		{2.0, 1.6, 1.4, 1.3, 1.3, 1.6, 2.4, 3.6, 5.0, 5.8, 6.0, 6.0, 5.8, 5.9, 5.9, 5.7, 5.3, 4.8, 4.5, 4.4, 4.3, 4.1, 3.6, 2.8},
		{2.6, 2.2, 1.9, 1.7, 1.6, 1.7, 2.0, 2.6, 3.6, 4.5, 5.1, 5.4, 5.5, 5.5, 5.5, 5.4, 5.3, 5.2, 5.1, 5.0, 4.9, 4.6, 4.0, 3.2},
	},
}

// offMix shifts the app mix on days off: work traffic falls more than the
// volume, leisure less ("weekend phenomenon", DATASET.md §5.2).
var offMix = [numFamilies]float64{famWork: 0.55, famLeisure: 1.55, famBackground: 1.1}

// hourCum holds the cumulative hour profiles, normalised to 1.
var hourCum = func() (out [numFamilies][2][24]float64) {
	for f := range hourProfile {
		for k := range 2 {
			var sum float64
			for _, v := range hourProfile[f][k] {
				sum += v
			}
			var acc float64
			for h, v := range hourProfile[f][k] {
				acc += v / sum
				out[f][k][h] = acc
			}
			out[f][k][23] = 1
		}
	}
	return out
}()

// pragueOffset returns the UTC offset of Europe/Prague at UTC instant u (unix
// seconds): CEST (+2 h) from the last Sunday of March 01:00 UTC to the last
// Sunday of October 01:00 UTC, CET (+1 h) otherwise (EU rule since 1996).
func pragueOffset(u int64) int64 {
	t := time.Unix(u, 0).UTC()
	start := lastSunday(t.Year(), time.March).Add(time.Hour).Unix()
	end := lastSunday(t.Year(), time.October).Add(time.Hour).Unix()
	if u >= start && u < end {
		return 7200
	}
	return 3600
}

func lastSunday(y int, m time.Month) time.Time {
	d := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	return d.AddDate(0, 0, -int(d.Weekday()))
}

// localToUTC converts a Prague wall-clock time (unix seconds as if UTC) to a
// UTC instant. In the repeated autumn hour the earlier instant is chosen.
func localToUTC(local int64) int64 {
	if u := local - 7200; pragueOffset(u) == 7200 {
		return u
	}
	return local - 3600
}
