package report

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// Forecast windows: the actuals shown before the first forecast hour, the
// forecast hours shown before the latest run, and the weeks before the
// origin whose highest hour an alert's severity is measured against.
const (
	actualDays   = 7
	pastFcDays   = 14
	peakLookback = 28 * 24 * time.Hour
)

// measure is the value of a traffic_hourly row for a forecast metric (as
// the forecaster builds its series).
func measure(r *tablerow.TrafficHourly, metric string) float64 {
	if metric == "flows" {
		return float64(r.Flows)
	}
	return float64(r.Bytes + r.BytesRev)
}

// seriesOf reports whether a traffic_hourly row belongs to a forecast
// series ("total", "category:<c>" or "app:<a>").
func seriesOf(r *tablerow.TrafficHourly, series string) bool {
	switch {
	case series == "total":
		return true
	case strings.HasPrefix(series, "category:"):
		return r.Category == series[len("category:"):]
	case strings.HasPrefix(series, "app:"):
		return r.App == series[len("app:"):]
	}
	return false
}

// buildForecast lays the forecasts of the total and each category over the
// actual traffic, and lists the latest run's capacity alerts.
func buildForecast(fc []tablerow.Forecast, hourly []tablerow.TrafficHourly) Forecast {
	var out Forecast
	if len(fc) == 0 {
		out.Absent = "forecasts has no rows."
		return out
	}
	out.Metric = "flows"
	for _, r := range fc {
		if r.Metric == "bytes" {
			out.Metric = "bytes"
		}
		if r.RunDate > out.RunDate {
			out.RunDate = r.RunDate
		}
	}
	var origin time.Time
	for _, r := range fc {
		if r.RunDate == out.RunDate && r.Origin.After(origin) {
			origin, out.Model = r.Origin, r.Model
		}
	}
	out.Origin = origin.UnixMilli()
	from := origin.Add(-pastFcDays * 24 * time.Hour)

	// Per series and hour, the forecast of the latest origin.
	best := map[string]map[int64]*tablerow.Forecast{}
	for i := range fc {
		r := &fc[i]
		if r.Metric != out.Metric || r.Hour.Before(from) {
			continue
		}
		m := best[r.Series]
		if m == nil {
			m = map[int64]*tablerow.Forecast{}
			best[r.Series] = m
		}
		if p := m[r.Hour.UnixMilli()]; p == nil || r.Origin.After(p.Origin) {
			m[r.Hour.UnixMilli()] = r
		}
	}
	names := slices.Sorted(maps.Keys(best))
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(seriesRank(a), seriesRank(b)) })
	for _, name := range names {
		if seriesRank(name) > 1 {
			continue // app series: in the alerts only
		}
		out.Series = append(out.Series, fcSeries(name, out.Metric, best[name], hourly))
	}
	out.Alerts = alerts(fc, out.RunDate, origin, hourly)
	return out
}

func seriesRank(s string) int {
	switch {
	case s == "total":
		return 0
	case strings.HasPrefix(s, "category:"):
		return 1
	}
	return 2
}

func fcSeries(name, metric string, byHour map[int64]*tablerow.Forecast, hourly []tablerow.TrafficHourly) FcSeries {
	fcHours := slices.Sorted(maps.Keys(byHour))
	start := fcHours[0] - actualDays*24*int64(time.Hour/time.Millisecond)
	actual := map[int64]float64{}
	for i := range hourly {
		r := &hourly[i]
		h := r.Hour.UnixMilli()
		if h >= start && h <= fcHours[len(fcHours)-1] && seriesOf(r, name) {
			actual[h] += measure(r, metric)
		}
	}
	hours := map[int64]bool{}
	for h := range actual {
		hours[h] = true
	}
	for _, h := range fcHours {
		hours[h] = true
	}
	s := FcSeries{Name: name, Hours: slices.Sorted(maps.Keys(hours))}
	nan := Num(math.NaN())
	for _, h := range s.Hours {
		a := nan
		if v, ok := actual[h]; ok {
			a = Num(v)
		}
		s.Actual = append(s.Actual, a)
		if r := byHour[h]; r != nil {
			s.Point = append(s.Point, Num(round(r.Point, 1)))
			s.Lower80 = append(s.Lower80, Num(round(r.Lower80, 1)))
			s.Upper80 = append(s.Upper80, Num(round(r.Upper80, 1)))
			s.Lower95 = append(s.Lower95, Num(round(r.Lower95, 1)))
			s.Upper95 = append(s.Upper95, Num(round(r.Upper95, 1)))
		} else {
			s.Point, s.Lower80, s.Upper80 = append(s.Point, nan), append(s.Lower80, nan), append(s.Upper80, nan)
			s.Lower95, s.Upper95 = append(s.Lower95, nan), append(s.Upper95, nan)
		}
	}
	return s
}

// alerts returns one alert per series and metric with alert rows in the
// run, most severe first.
func alerts(fc []tablerow.Forecast, runDate string, origin time.Time, hourly []tablerow.TrafficHourly) []Alert {
	type key struct{ series, metric string }
	byKey := map[key]*Alert{}
	for _, r := range fc {
		if r.RunDate != runDate || !r.Alert {
			continue
		}
		k := key{r.Series, r.Metric}
		a := byKey[k]
		if a == nil {
			a = &Alert{Series: r.Series, Metric: r.Metric, First: r.Hour.UnixMilli()}
			byKey[k] = a
		}
		a.Hours++
		a.First = min(a.First, r.Hour.UnixMilli())
		if r.Upper95 > a.Upper95 {
			a.Upper95, a.Point = r.Upper95, r.Point
		}
	}
	out := make([]Alert, 0, len(byKey))
	for k, a := range byKey {
		sums := map[int64]float64{}
		for i := range hourly {
			r := &hourly[i]
			if !r.Hour.Before(origin.Add(-peakLookback)) && r.Hour.Before(origin) && seriesOf(r, k.series) {
				sums[r.Hour.UnixMilli()] += measure(r, k.metric)
			}
		}
		for _, v := range sums {
			a.Peak4w = max(a.Peak4w, v)
		}
		if a.Peak4w > 0 {
			a.Severity = round(a.Upper95/a.Peak4w, 4)
		}
		a.Upper95, a.Point = round(a.Upper95, 1), round(a.Point, 1)
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(b.Hours, a.Hours),
			cmp.Compare(a.Series, b.Series), cmp.Compare(a.Metric, b.Metric))
	})
	return out
}
