package report

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// quarterData is the page data of a quarter of hourly traffic at the
// dataset's scale: every app and category of the generated catalog for 91
// days, 14 daily forecast runs of the total, every category and 20 apps in
// bytes and flows, app usage of every day, 13 weeks of drift metrics, and
// the classifier section of the MLflow fixture's evaluation.
func quarterData(b *testing.B) *Data {
	b.Helper()
	gen := generatedHourly(b)
	cat := map[string]string{}
	for _, r := range gen {
		cat[r.App] = r.Category
	}
	apps := sortedKeys(cat)
	start := time.Date(2022, 4, 4, 0, 0, 0, 0, time.UTC)
	const days = 91
	var hourly []tablerow.TrafficHourly
	for h := range days * 24 {
		hour := start.Add(time.Duration(h) * time.Hour)
		diurnal := 1.2 + math.Sin(2*math.Pi*float64(h%24-6)/24)
		for i, a := range apps {
			scale := 1e9 / float64(i+1) // a long tail
			v := int64(scale * diurnal * (1 + 0.1*math.Sin(float64(h*(i+3)))))
			hourly = append(hourly, tablerow.TrafficHourly{Hour: hour, App: a, Category: cat[a], Flows: v / 50000,
				Bytes: v / 5, BytesRev: v - v/5, Week: cesnet.WeekLabel(hour)})
		}
	}
	sums := map[string]map[string]map[time.Time]float64{"bytes": {}, "flows": {}}
	for i := range hourly {
		r := &hourly[i]
		for _, s := range []string{"total", "category:" + r.Category, "app:" + r.App} {
			for _, m := range []string{"bytes", "flows"} {
				if sums[m][s] == nil {
					sums[m][s] = map[time.Time]float64{}
				}
				sums[m][s][r.Hour] += measure(r, m)
			}
		}
	}
	var fc []tablerow.Forecast
	series := []string{"total"}
	for _, s := range sortedKeys(sums["bytes"]) {
		if s[:4] == "cate" {
			series = append(series, s)
		}
	}
	series = append(series, slices.Collect(func(yield func(string) bool) {
		for _, a := range apps[:20] {
			if !yield("app:" + a) {
				return
			}
		}
	})...)
	for d := days - 13; d <= days; d++ {
		origin := start.AddDate(0, 0, d)
		for _, s := range series {
			for _, m := range []string{"bytes", "flows"} {
				for h := 1; h <= 24; h++ {
					hour := origin.Add(time.Duration(h-1) * time.Hour)
					p := sums[m][s][hour.AddDate(0, 0, -7)]
					fc = append(fc, tablerow.Forecast{RunDate: origin.Format(time.DateOnly), Origin: origin, Hour: hour, Horizon: int32(h),
						Series: s, Metric: m, Point: p, Lower80: 0.9 * p, Upper80: 1.1 * p, Lower95: 0.75 * p, Upper95: 1.25 * p,
						Model: "xgboost", Alert: s == "total" && hour.Hour() == 20})
				}
			}
		}
	}
	var usage []tablerow.AppUsageDaily
	for d := range days {
		day := start.AddDate(0, 0, d).Format(time.DateOnly)
		for i, a := range apps {
			share := 0.2 / float64(i+1)
			usage = append(usage, tablerow.AppUsageDaily{Day: day, App: a, Category: cat[a], Flows: int64(1e6 * share),
				Share: share * (1 + 0.05*math.Sin(float64(d+i))), TrueShare: share})
		}
	}
	var drift []tablerow.DriftMetric
	for w := range 13 {
		for _, m := range []string{"kl", "psi", "share_shift", "adwin", "unknown_rate"} {
			for i, a := range apps[:50] {
				v := 0.1 * (1 + math.Sin(float64(w*7+i)))
				drift = append(drift, tablerow.DriftMetric{Window: fmt.Sprintf("2022-W%02d", 14+w), Reference: "2022-W13",
					Scope: "app:" + a, Feature: "bytes", Metric: m, Value: v, Threshold: 0.19, Alert: v > 0.19})
			}
		}
	}
	d := &Data{Title: "TelcoTraffic operator's report", Generated: fixedNow().Format(time.RFC3339), Lake: "s3://telco/lake", ECharts: EChartsVersion}
	d.Tables = []TableRef{{Name: HourlyTable, Version: 91, Rows: len(hourly)}, {Name: ForecastsTable, Version: 14, Rows: len(fc)},
		{Name: UsageTable, Version: 91, Rows: len(usage)}, {Name: DriftTable, Version: 13, Rows: len(drift)}}
	d.Traffic = buildTraffic(hourly, 10)
	d.Forecast = buildForecast(fc, hourly)
	d.Usage = buildUsage(usage, 10)
	d.Drift = buildDrift(drift)
	d.Drift.Emerging = emerging(hourly)
	rep, conf := testEvaluation(b)
	d.Classifier = Classifier{Model: DefaultModel, Version: "3", Alias: "champion", RunID: "0123456789abcdef", Window: "2022-W26"}
	fillClassifier(&d.Classifier, rep)
	d.Classifier.Confusion = categoryConfusion(conf.Labels, conf.M, cat)
	d.Lineage.Versions = []VersionRow{{Model: DefaultModel, Version: "3", Aliases: []string{"champion"}, Tables: map[string]int64{"flow_features": 12}}}
	return d
}

// BenchmarkQuarter renders the report of a quarter of hourly data in
// headless Chromium: the page's size (goal < 5 MB) and the time from the
// start of the navigation until its charts are painted (goal < 2 s), beside
// the same page of an empty lake (ECharts and the page's script, no data)
// as the peer. Run with -benchtime 3x.
func BenchmarkQuarter(b *testing.B) {
	d := quarterData(b)
	t0 := time.Now()
	page, err := Render(d)
	if err != nil {
		b.Fatal(err)
	}
	renderGo := time.Since(t0)
	empty, err := Build(context.Background(), Config{Lake: b.TempDir(), Now: fixedNow})
	if err != nil {
		b.Fatal(err)
	}
	path, _ := writePageBytes(b, page)
	emptyPath, _ := writePage(b, empty)
	ctx := browser(b, 1280, 900)
	var quarter, peer, script float64
	b.ResetTimer()
	for range b.N {
		st := load(b, ctx, "file://"+path)
		if st.Report.Charts != 11 || len(st.Report.Errors) > 0 {
			b.Fatalf("%d charts drawn, errors %q", st.Report.Charts, st.Report.Errors)
		}
		quarter += st.PaintedMs
		script += st.Report.RenderMs
		peer += load(b, ctx, "file://"+emptyPath).PaintedMs
	}
	n := float64(b.N)
	b.ReportMetric(float64(len(page))/1e6, "MB")
	b.ReportMetric(quarter/n, "ms-painted")
	b.ReportMetric(script/n, "ms-script")
	b.ReportMetric(peer/n, "ms-painted-empty")
	b.ReportMetric(quarter/peer, "x-empty")
	b.Logf("quarter: %d traffic hours, %d forecast series, page %.2f MB (data %.2f MB), Go render %v; painted at %.0f ms (empty-lake page %.0f ms)",
		len(d.Traffic.Hours), len(d.Forecast.Series), float64(len(page))/1e6, float64(len(page)-len(echartsJS))/1e6, renderGo, quarter/n, peer/n)
}

func writePageBytes(tb testing.TB, page []byte) (string, int) {
	tb.Helper()
	path := tb.TempDir() + "/report.html"
	if err := Write(context.Background(), path, page, storageOptions); err != nil {
		tb.Fatal(err)
	}
	return path, len(page)
}
