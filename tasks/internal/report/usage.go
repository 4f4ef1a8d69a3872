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

// buildUsage lays out app_usage_daily: per day, the topApps apps' shares
// estimated by the score task and their true shares, and the day's mean
// absolute share error over all apps where labels exist.
func buildUsage(rows []tablerow.AppUsageDaily, topApps int) Usage {
	var u Usage
	if len(rows) == 0 {
		u.Absent = "app_usage_daily has no rows."
		return u
	}
	days, flows, cat := map[string]bool{}, map[string]int64{}, map[string]string{}
	for _, r := range rows {
		days[r.Day] = true
		flows[r.App] += r.Flows
		cat[r.App] = r.Category
	}
	u.Days = slices.Sorted(maps.Keys(days))
	dayIdx := indexOf(u.Days)
	apps := byTotal(flows)
	apps = apps[:min(topApps, len(apps))]
	appIdx := indexOf(apps)
	nan := Num(math.NaN())
	for _, a := range apps {
		ua := UsageApp{App: a, Category: cat[a], Share: make([]Num, len(u.Days)), TrueShare: make([]Num, len(u.Days))}
		for i := range u.Days {
			ua.Share[i], ua.TrueShare[i] = nan, nan
		}
		u.Apps = append(u.Apps, ua)
	}
	errSum, errN := make([]float64, len(u.Days)), make([]int, len(u.Days))
	for _, r := range rows {
		d := dayIdx[r.Day]
		if r.TrueShare >= 0 {
			errSum[d] += math.Abs(r.Share - r.TrueShare)
			errN[d]++
		}
		i, ok := appIdx[r.App]
		if !ok {
			continue
		}
		u.Apps[i].Share[d] = Num(round(r.Share, 6))
		if r.TrueShare >= 0 {
			u.Apps[i].TrueShare[d] = Num(round(r.TrueShare, 6))
		}
	}
	for d := range u.Days {
		if errN[d] == 0 {
			u.MAE = append(u.MAE, nan)
		} else {
			u.MAE = append(u.MAE, Num(round(errSum[d]/float64(errN[d]), 6)))
		}
	}
	return u
}

// maxDriftAlerts bounds the alert table.
const maxDriftAlerts = 50

// buildDrift lays out drift_metrics: per metric the highest
// value/threshold ratio of each window, and the alerts, newest first.
func buildDrift(rows []tablerow.DriftMetric) Drift {
	var d Drift
	if len(rows) == 0 {
		d.Absent = "drift_metrics has no rows."
		return d
	}
	windows, metrics := map[string]bool{}, map[string]bool{}
	for _, r := range rows {
		windows[r.Window], metrics[r.Metric] = true, true
	}
	d.Windows = slices.Sorted(maps.Keys(windows))
	wIdx := indexOf(d.Windows)
	ms := slices.Sorted(maps.Keys(metrics))
	mIdx := indexOf(ms)
	for _, m := range ms {
		s := DriftSeries{Metric: m, Ratio: make([]Num, len(d.Windows)), Alerts: make([]int, len(d.Windows))}
		for i := range s.Ratio {
			s.Ratio[i] = Num(math.NaN())
		}
		d.Metrics = append(d.Metrics, s)
	}
	for _, r := range rows {
		s, w := &d.Metrics[mIdx[r.Metric]], wIdx[r.Window]
		if r.Threshold > 0 {
			v := round(r.Value/r.Threshold, 4)
			if math.IsNaN(float64(s.Ratio[w])) || v > float64(s.Ratio[w]) {
				s.Ratio[w] = Num(v)
			}
		}
		if r.Alert {
			s.Alerts[w]++
			d.Alerts = append(d.Alerts, DriftAlert{Window: r.Window, Reference: r.Reference, Scope: r.Scope,
				Feature: r.Feature, Metric: r.Metric, Value: round(r.Value, 6), Threshold: round(r.Threshold, 6)})
		}
	}
	slices.SortFunc(d.Alerts, func(a, b DriftAlert) int {
		return cmp.Or(cmp.Compare(b.Window, a.Window), cmp.Compare(b.Value/b.Threshold, a.Value/a.Threshold),
			cmp.Compare(a.Scope, b.Scope), cmp.Compare(a.Feature, b.Feature), cmp.Compare(a.Metric, b.Metric))
	})
	d.Alerts = d.Alerts[:min(maxDriftAlerts, len(d.Alerts))]
	return d
}

// emerging lists the services traffic_hourly first shows after its first
// two weeks, with their bytes in the last week.
func emerging(rows []tablerow.TrafficHourly) []Emerging {
	weekOf := func(t time.Time) string { return cesnet.WeekLabel(t.UTC()) }
	first, cat := map[string]string{}, map[string]string{}
	weeks := map[string]bool{}
	for _, r := range rows {
		w := weekOf(r.Hour)
		weeks[w] = true
		if f, ok := first[r.App]; !ok || w < f {
			first[r.App] = w
		}
		cat[r.App] = r.Category
	}
	ws := slices.Sorted(maps.Keys(weeks))
	if len(ws) < 3 {
		return nil
	}
	last := ws[len(ws)-1]
	lastBytes, total := map[string]int64{}, int64(0)
	for _, r := range rows {
		if weekOf(r.Hour) == last {
			lastBytes[r.App] += r.Bytes + r.BytesRev
			total += r.Bytes + r.BytesRev
		}
	}
	var out []Emerging
	for _, a := range slices.Sorted(maps.Keys(first)) {
		if first[a] > ws[1] {
			out = append(out, Emerging{App: a, Category: cat[a], FirstSeen: first[a], LastWeek: lastBytes[a],
				Share: round(ratio(lastBytes[a], total), 6)})
		}
	}
	slices.SortStableFunc(out, func(a, b Emerging) int { return cmp.Compare(b.LastWeek, a.LastWeek) })
	return out
}
