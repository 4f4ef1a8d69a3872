package features

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

var benchRows = flag.Int("features-rows", 100_000, "flows in BenchmarkFeaturesUnit's day")

// BenchmarkFeaturesUnit measures one work unit of the features job without
// a runner: a day of flows written like parse writes it (partitioned by
// week and app), then read, computed and written as flow_features. It
// reports rows/s of wall time and, steadier on a shared machine, the
// process's CPU time per row (user+system; run with -cpuprofile to see
// where it goes).
func BenchmarkFeaturesUnit(b *testing.B) {
	ctx := context.Background()
	lake := b.TempDir()
	day, _ := time.Parse(time.DateOnly, "2022-03-07")
	flows := deltaio.TableSpec{Lake: lake, Name: "flows", PartitionBy: []string{"week", "app"}}
	tab, _, err := deltaio.OpenOrCreate[cesnet.Flow](ctx, flows)
	if err != nil {
		b.Fatal(err)
	}
	buf, err := deltaio.NewBuffer[cesnet.Flow](ctx, tab, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range flowgen.Day(day, *benchRows, 170, 1) {
		if err := buf.Add(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	adds, err := buf.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tab.Commit(ctx, lakehouse.Commit{Adds: adds}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := testenv.CPUTime()
	for range b.N {
		p, err := NewPlan(ctx, Config{Lake: lake, FlowsVersion: -1, UnitRows: int64(*benchRows)})
		if err != nil {
			b.Fatal(err)
		}
		units, err := deltaio.EncodeUnits(p.Units)
		if err != nil {
			b.Fatal(err)
		}
		fn := &featuresUnitFn{Flows: p.Source.Table, PartCols: p.Source.PartCols, Weeks: p.Source.Weeks, Out: p.Spec.Table,
			SNIBuckets: p.Features.SNIBuckets, JA3Buckets: p.Features.JA3Buckets}
		if err := fn.Setup(ctx); err != nil {
			b.Fatal(err)
		}
		for _, u := range units {
			if err := fn.ProcessElement(ctx, u, func(string) {}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(*benchRows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric((testenv.CPUTime()-cpu0).Seconds()*1e6/float64(*benchRows*b.N), "cpu-us/row")
}
