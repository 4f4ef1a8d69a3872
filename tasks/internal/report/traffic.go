package report

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// OtherApps names the sum of the apps outside the top apps.
const OtherApps = "other apps"

// wowApps is how many apps with the largest share moves the week-over-week
// table lists.
const wowApps = 10

// buildTraffic sums traffic_hourly into bytes per hour per category and for
// the topApps apps with the most bytes (the rest as OtherApps), and
// compares the shares of the last two weeks.
func buildTraffic(rows []tablerow.TrafficHourly, topApps int) Traffic {
	var tr Traffic
	if len(rows) == 0 {
		tr.Absent = "traffic_hourly has no rows."
		return tr
	}
	hourSet := map[int64]bool{}
	catTotal, appTotal := map[string]int64{}, map[string]int64{}
	for _, r := range rows {
		hourSet[r.Hour.UnixMilli()] = true
		catTotal[r.Category] += r.Bytes + r.BytesRev
		appTotal[r.App] += r.Bytes + r.BytesRev
	}
	tr.Hours = slices.Sorted(maps.Keys(hourSet))
	idx := make(map[int64]int, len(tr.Hours))
	for i, h := range tr.Hours {
		idx[h] = i
	}
	cats := byTotal(catTotal)
	apps := byTotal(appTotal)
	top := apps[:min(topApps, len(apps))]
	catIdx, appIdx := indexOf(cats), indexOf(top)
	tr.Categories = newSeries(cats, len(tr.Hours))
	tr.Apps = newSeries(top, len(tr.Hours))
	if len(apps) > len(top) {
		tr.Apps = append(tr.Apps, Series{Name: OtherApps, Values: make([]int64, len(tr.Hours))})
	}
	for _, r := range rows {
		h, b := idx[r.Hour.UnixMilli()], r.Bytes+r.BytesRev
		tr.Categories[catIdx[r.Category]].Values[h] += b
		if i, ok := appIdx[r.App]; ok {
			tr.Apps[i].Values[h] += b
		} else {
			tr.Apps[len(tr.Apps)-1].Values[h] += b
		}
	}
	tr.WoW, tr.Weeks = weekOverWeek(rows)
	return tr
}

// weekOverWeek returns the byte shares of every category and of the apps
// that moved most between the last two weeks of rows.
func weekOverWeek(rows []tablerow.TrafficHourly) ([]ShareChange, [2]string) {
	weekOf := func(t time.Time) string { return cesnet.WeekLabel(t.UTC()) }
	weeks := map[string]bool{}
	for _, r := range rows {
		weeks[weekOf(r.Hour)] = true
	}
	ws := slices.Sorted(maps.Keys(weeks))
	if len(ws) < 2 {
		return nil, [2]string{}
	}
	prev, last := ws[len(ws)-2], ws[len(ws)-1]
	type pair struct{ prev, last int64 }
	cats, apps := map[string]*pair{}, map[string]*pair{}
	var totPrev, totLast int64
	add := func(m map[string]*pair, k string, w string, b int64) {
		p := m[k]
		if p == nil {
			p = &pair{}
			m[k] = p
		}
		if w == prev {
			p.prev += b
		} else {
			p.last += b
		}
	}
	for _, r := range rows {
		w := weekOf(r.Hour)
		if w != prev && w != last {
			continue
		}
		b := r.Bytes + r.BytesRev
		add(cats, r.Category, w, b)
		add(apps, r.App, w, b)
		if w == prev {
			totPrev += b
		} else {
			totLast += b
		}
	}
	share := func(kind, name string, p *pair) ShareChange {
		s := ShareChange{Kind: kind, Name: name, Prev: ratio(p.prev, totPrev), Last: ratio(p.last, totLast)}
		s.Delta = round(100*(s.Last-s.Prev), 4)
		s.Prev, s.Last = round(s.Prev, 6), round(s.Last, 6)
		return s
	}
	var out []ShareChange
	for _, c := range slices.Sorted(maps.Keys(cats)) {
		out = append(out, share("category", c, cats[c]))
	}
	slices.SortStableFunc(out, func(a, b ShareChange) int { return cmp.Compare(b.Last, a.Last) })
	var am []ShareChange
	for _, a := range slices.Sorted(maps.Keys(apps)) {
		am = append(am, share("app", a, apps[a]))
	}
	slices.SortStableFunc(am, func(a, b ShareChange) int { return cmp.Compare(math.Abs(b.Delta), math.Abs(a.Delta)) })
	return append(out, am[:min(wowApps, len(am))]...), [2]string{prev, last}
}

// byTotal returns the keys of m, largest value first (ties by name).
func byTotal(m map[string]int64) []string {
	ks := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(ks, func(a, b string) int { return cmp.Compare(m[b], m[a]) })
	return ks
}

func indexOf(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}

func newSeries(names []string, n int) []Series {
	out := make([]Series, len(names))
	for i, name := range names {
		out[i] = Series{Name: name, Values: make([]int64, n)}
	}
	return out
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// round keeps d decimals, so the embedded JSON stays small.
func round(v float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}
