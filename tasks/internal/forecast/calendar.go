package forecast

import (
	"fmt"
	"slices"
	"time"
)

// Calendar answers the per-hour questions the models ask: local hour of day,
// weekday, public holiday, academic summer, winter break. Traffic follows
// local wall-clock time (Europe/Prague for CESNET), while the series grid is
// UTC hours, so every question converts to Location first.
type Calendar struct {
	// Location is the wall-clock zone of the users (Europe/Prague).
	Location *time.Location
	// Holidays are the public holidays (local dates; only year, month and
	// day are read).
	Holidays []time.Time
	// Summer is the academic summer as [start, end] month-day pairs, both
	// inclusive: {7, 1}, {8, 31} for July and August. Zero: none.
	SummerStart, SummerEnd MonthDay
	// Break is the winter break, inclusive, possibly across the new year
	// ({12, 23} to {1, 1}). Zero: none.
	BreakStart, BreakEnd MonthDay

	days map[int32]bool // Holidays as yyyymmdd
}

// MonthDay is a day of the year without the year.
type MonthDay struct{ Month, Day int }

func (m MonthDay) key() int { return m.Month*100 + m.Day }

// CzechCalendar returns the calendar of Czech academic traffic: Czech public
// holidays of the given years (see CzechHolidays) plus extra, the academic
// summer July–August and the winter break 23 December – 1 January.
func CzechCalendar(loc *time.Location, years []int, extra ...time.Time) *Calendar {
	c := &Calendar{
		Location:    loc,
		SummerStart: MonthDay{7, 1}, SummerEnd: MonthDay{8, 31},
		BreakStart: MonthDay{12, 23}, BreakEnd: MonthDay{1, 1},
	}
	for _, y := range years {
		c.Holidays = append(c.Holidays, CzechHolidays(y)...)
	}
	c.Holidays = append(c.Holidays, extra...)
	return c
}

// CzechHolidays returns the Czech public holidays of a year (zákon č.
// 245/2000 Sb. as amended): the fixed dates plus Good Friday (a holiday
// since 2016) and Easter Monday, sorted.
func CzechHolidays(year int) []time.Time {
	fixed := [][2]int{{1, 1}, {5, 1}, {5, 8}, {7, 5}, {7, 6}, {9, 28}, {10, 28}, {11, 17}, {12, 24}, {12, 25}, {12, 26}}
	out := make([]time.Time, 0, len(fixed)+2)
	for _, md := range fixed {
		out = append(out, time.Date(year, time.Month(md[0]), md[1], 0, 0, 0, 0, time.UTC))
	}
	e := EasterSunday(year)
	if year >= 2016 {
		out = append(out, e.AddDate(0, 0, -2))
	}
	out = append(out, e.AddDate(0, 0, 1))
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// EasterSunday returns Western Easter Sunday of a Gregorian year (the
// anonymous algorithm of Meeus/Jones/Butcher), at UTC midnight.
func EasterSunday(y int) time.Time {
	a, b, c := y%19, y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(y, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// ParseDates parses a comma-separated list of YYYY-MM-DD dates.
func ParseDates(s string) ([]time.Time, error) {
	var out []time.Time
	for f := range splitComma(s) {
		t, err := time.Parse(time.DateOnly, f)
		if err != nil {
			return nil, fmt.Errorf("forecast: date %q: %w", f, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func dayKey(y int, m time.Month, d int) int32 { return int32(y*10000 + int(m)*100 + d) }

func (c *Calendar) init() {
	if c.days != nil {
		return
	}
	c.days = make(map[int32]bool, len(c.Holidays))
	for _, h := range c.Holidays {
		c.days[dayKey(h.Date())] = true
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
}

// Day describes one hour in local time.
type Day struct {
	Hour     int          // local hour of day 0..23
	Weekday  time.Weekday // local weekday
	Holiday  bool         // a public holiday
	Off      bool         // weekend or holiday: traffic looks like a Sunday
	Summer   bool         // academic summer
	Break    bool         // winter break
	DayOfYr  int          // local day of the year, 1..366
	Local    time.Time    // the instant in Location
	DateOnly string       // local date, YYYY-MM-DD
}

// At describes the hour starting at instant t.
func (c *Calendar) At(t time.Time) Day {
	c.init()
	l := t.In(c.Location)
	y, m, d := l.Date()
	md := MonthDay{int(m), d}.key()
	hol := c.days[dayKey(y, m, d)]
	wd := l.Weekday()
	return Day{
		Hour:     l.Hour(),
		Weekday:  wd,
		Holiday:  hol,
		Off:      hol || wd == time.Saturday || wd == time.Sunday,
		Summer:   inRange(md, c.SummerStart.key(), c.SummerEnd.key()),
		Break:    inRange(md, c.BreakStart.key(), c.BreakEnd.key()),
		DayOfYr:  l.YearDay(),
		Local:    l,
		DateOnly: l.Format(time.DateOnly),
	}
}

// inRange reports whether md lies in [lo, hi], wrapping over the new year
// when lo > hi. A zero range is empty.
func inRange(md, lo, hi int) bool {
	switch {
	case lo == 0 && hi == 0:
		return false
	case lo <= hi:
		return md >= lo && md <= hi
	default:
		return md >= lo || md <= hi
	}
}

// LocalMidnight returns the instant of local midnight starting the local day
// of t (the daily forecast origin).
func (c *Calendar) LocalMidnight(t time.Time) time.Time {
	c.init()
	l := t.In(c.Location)
	y, m, d := l.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.Location).UTC()
}
