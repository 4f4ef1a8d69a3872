// Package holidays knows the public holidays the traffic follows: the Czech
// ones (CESNET users are Czech universities).
package holidays

import (
	"slices"
	"time"
)

// Czech returns the Czech public holidays of a year (zákon č.
// 245/2000 Sb. as amended): the fixed dates plus Good Friday (a holiday
// since 2016) and Easter Monday, sorted.
func Czech(year int) []time.Time {
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
