package report

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/forecast"
	"github.com/telcotraffic/telcotraffic/tasks/internal/synth"
)

// The test lake: 10 generated days from Monday 2022-02-14 (two dataset
// weeks), aggregated as the Beam job would, and the other tables written
// from them by simple deterministic rules.
var lakeStart = time.Date(2022, 2, 14, 0, 0, 0, 0, time.UTC)

const lakeDays = 10

// generatedHourly generates the raw days once per test binary and
// aggregates them into traffic_hourly rows.
func generatedHourly(t testing.TB) []tablerow.TrafficHourly {
	t.Helper()
	hourlyOnce.Do(func() {
		raw := filepath.Join(t.TempDir(), "raw")
		if _, err := synth.Generate(context.Background(), synth.Config{Out: raw, Start: lakeStart, Days: lakeDays,
			FlowsPerDay: 600, Seed: 5, Compress: "none", Workers: 1}); err != nil {
			hourlyErr = err
			return
		}
		hourlyRows, hourlyErr = forecast.RawSource{Root: raw}.TrafficHourly(context.Background())
	})
	if hourlyErr != nil {
		t.Fatal(hourlyErr)
	}
	return slices.Clone(hourlyRows)
}

var (
	hourlyOnce sync.Once
	hourlyRows []tablerow.TrafficHourly
	hourlyErr  error
)

// writeTable creates table name under lake and appends rows in one commit.
func writeTable[T any](t testing.TB, lake string, opts storage.Options, name string, parts []string, rows []T) int64 {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.JoinURI(lake, name), opts)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := lakehouse.OpenOrCreate[T](ctx, store, lakehouse.CreateOptions{Name: name, PartitionColumns: parts}, lakehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := lakehouse.Write(ctx, tb, rows, lakehouse.WriteOptions{Mode: lakehouse.ModeAppend})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res.Version
}

// lakeTables says which tables a test lake has.
type lakeTables struct{ hourly, forecasts, usage, drift bool }

var allTables = lakeTables{true, true, true, true}

// storageOptions are the local tests' (no S3).
var storageOptions = storage.Options{}

// writeLake writes the test lake's tables under lake.
func writeLake(t testing.TB, lake string, opts storage.Options, which lakeTables) {
	t.Helper()
	hourly := generatedHourly(t)
	if which.hourly {
		writeTable(t, lake, opts, HourlyTable, []string{"week"}, hourly)
	}
	if which.forecasts {
		writeTable(t, lake, opts, ForecastsTable, []string{"run_date"}, testForecasts(hourly))
	}
	if which.usage {
		writeTable(t, lake, opts, UsageTable, []string{"day"}, testUsage(hourly))
	}
	if which.drift {
		writeTable(t, lake, opts, DriftTable, nil, testDrift())
	}
}

// testForecasts makes two day-ahead runs of a seasonal naive forecaster
// (the value of the same hour a week before) with intervals of ±10 % and
// ±25 % for the total and three categories in bytes: one for the last data
// day (actuals exist) and one for the day after it. Hours 18–20 of the
// total alert.
func testForecasts(hourly []tablerow.TrafficHourly) []tablerow.Forecast {
	sums := map[string]map[time.Time]float64{}
	for i := range hourly {
		r := &hourly[i]
		for _, s := range []string{"total", "category:" + r.Category} {
			if sums[s] == nil {
				sums[s] = map[time.Time]float64{}
			}
			sums[s][r.Hour] += measure(r, "bytes")
		}
	}
	var out []tablerow.Forecast
	for _, runDay := range []int{lakeDays - 1, lakeDays} {
		origin := lakeStart.AddDate(0, 0, runDay)
		for _, s := range append([]string{"total"}, sortedKeys(sums)[:3]...) { // "category:…" sort first
			for h := 1; h <= 24; h++ {
				hour := origin.Add(time.Duration(h-1) * time.Hour)
				p := sums[s][hour.AddDate(0, 0, -7)]
				out = append(out, tablerow.Forecast{RunDate: origin.Format(time.DateOnly), Origin: origin, Hour: hour, Horizon: int32(h),
					Series: s, Metric: "bytes", Point: p, Lower80: 0.9 * p, Upper80: 1.1 * p, Lower95: 0.75 * p, Upper95: 1.25 * p,
					Model: "snaive168", Alert: s == "total" && hour.Hour() >= 18 && hour.Hour() <= 20})
			}
		}
	}
	return out
}

// testUsage estimates each day's app shares of the last week as the true
// shares bent by a fixed per-app factor; the last day is unlabelled.
func testUsage(hourly []tablerow.TrafficHourly) []tablerow.AppUsageDaily {
	type key struct{ day, app string }
	flows, total, cat := map[key]int64{}, map[string]int64{}, map[string]string{}
	for _, r := range hourly {
		d := r.Hour.Format(time.DateOnly)
		if r.Hour.Before(lakeStart.AddDate(0, 0, lakeDays-7)) {
			continue
		}
		flows[key{d, r.App}] += r.Flows
		total[d] += r.Flows
		cat[r.App] = r.Category
	}
	keys := make([]key, 0, len(flows))
	for k := range flows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.day != b.day {
			return strings.Compare(a.day, b.day)
		}
		return strings.Compare(a.app, b.app)
	})
	last := lakeStart.AddDate(0, 0, lakeDays-1).Format(time.DateOnly)
	var out []tablerow.AppUsageDaily
	for i, k := range keys {
		share := float64(flows[k]) / float64(total[k.day])
		est := share * (1 + 0.1*math.Sin(float64(len(k.app))))
		trueShare := share
		if k.day == last {
			trueShare = -1
		}
		out = append(out, tablerow.AppUsageDaily{Day: k.day, App: k.app, Category: cat[k.app], Flows: flows[k], Bytes: int64(1000 * (i + 1)),
			Share: est, TrueShare: trueShare, MeanConfidence: 0.9, UnknownShare: 0.01, ModelName: DefaultModel, ModelVersion: "1", FeaturesVersion: 3})
	}
	return out
}

// testDrift is three weekly windows of three metrics, in scope all and for
// one app; the app's share shift alerts in the last window.
func testDrift() []tablerow.DriftMetric {
	var out []tablerow.DriftMetric
	for w, window := range []string{"2022-W07", "2022-W08", "2022-W09"} {
		for m, metric := range []string{"kl", "psi", "share_shift"} {
			for _, scope := range []string{"all", "app:google-www"} {
				v := 0.02 * float64(1+w+m)
				if scope != "all" && metric == "share_shift" && w == 2 {
					v = 0.4
				}
				out = append(out, tablerow.DriftMetric{RunDate: fmt.Sprintf("2022-03-%02d", w+1), Window: window, Reference: "2022-W06",
					Scope: scope, Feature: "bytes", Metric: metric, Value: v, Threshold: 0.2, Alert: v > 0.2})
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
