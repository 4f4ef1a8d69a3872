package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
	"github.com/telcotraffic/telcotraffic/lakehouse/storage"
	"github.com/telcotraffic/telcotraffic/tasks/internal/classify"
	"github.com/telcotraffic/telcotraffic/tasks/internal/drift"
)

// BenchmarkDayCheck times the daily check of one generated day of
// DAY_FLOWS flows (default 400 000; a real CESNET-TLS-Year22 weekday has
// ≈ 1.4 M) read from a local flow_features table, against a reference of
// the day before (from a folder, so MLflow is not in the timing). Reported:
// seconds per check and flows/s; 1.4 M / (flows/s) is the real-size time.
// Its peer, rows-peer, counts the same day through lakehouse.Rows of whole
// rows and Day.AddFlow on one goroutine (the check's read path before
// drift.ReadDay): the ratio of the two is what the column reader gains.
func BenchmarkDayCheck(b *testing.B) {
	flows := 400_000
	if v, err := strconv.Atoi(os.Getenv("DAY_FLOWS")); err == nil && v > 0 {
		flows = v
	}
	ctx := context.Background()
	lake := lakeWithDays(b, "2022-03-01", 2, flows)
	ref := referenceOf(b, lake, "2022-03-01", "2022-03-01")
	refDir := b.TempDir()
	if err := drift.SaveReference(ctx, refDir, ref, storage.Options{}); err != nil {
		b.Fatal(err)
	}
	b.Run("check", func(b *testing.B) {
		var res drift.Result
		for range b.N {
			var stdout, stderr bytes.Buffer
			cfg := config{lake: lake, day: "2022-03-02", version: -1, reference: refDir, force: true, th: drift.DefaultThresholds()}
			t0 := time.Now()
			if err := run(ctx, cfg, &stdout, &stderr); err != nil {
				b.Fatalf("%v\n%s", err, stderr.String())
			}
			s := time.Since(t0).Seconds()
			if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(s, "s/check")
			b.ReportMetric(float64(res.Flows)/s, "flows/s")
			b.Logf("%d flows in %.1fs: %.0f flows/s, a 1.4 M-flow day in %.0fs", res.Flows, s, float64(res.Flows)/s, 1.4e6*s/float64(res.Flows))
		}
	})
	b.Run("rows-peer", func(b *testing.B) {
		day, _ := time.Parse(cesnet.DayLayout, "2022-03-02")
		for range b.N {
			t0 := time.Now()
			src, err := classify.OpenLakeSource(ctx, lake, -1, storage.Options{})
			if err != nil {
				b.Fatal(err)
			}
			d := drift.NewDay(ref, "2022-03-02")
			if err := src.Scan(ctx, day, day, func(r *tablerow.FlowFeatures) error { d.AddFlow(r); return nil }); err != nil {
				b.Fatal(err)
			}
			s := time.Since(t0).Seconds()
			b.ReportMetric(s, "s/read")
			b.ReportMetric(float64(d.Flows)/s, "flows/s")
			b.Logf("whole rows: %d flows read and counted in %.1fs: %.0f flows/s", d.Flows, s, float64(d.Flows)/s)
		}
	})
}
