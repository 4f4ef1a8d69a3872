package forecast

import (
	"fmt"
	"time"

	"github.com/telcotraffic/telcotraffic/tasks/internal/holidays"
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
// holidays of the given years (see holidays.Czech) plus extra, the academic
// summer July–August and the winter break 23 December – 1 January.
func CzechCalendar(loc *time.Location, years []int, extra ...time.Time) *Calendar {
	c := &Calendar{
		Location:    loc,
		SummerStart: MonthDay{7, 1}, SummerEnd: MonthDay{8, 31},
		BreakStart: MonthDay{12, 23}, BreakEnd: MonthDay{1, 1},
	}
	for _, y := range years {
		c.Holidays = append(c.Holidays, holidays.Czech(y)...)
	}
	c.Holidays = append(c.Holidays, extra...)
	return c
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
