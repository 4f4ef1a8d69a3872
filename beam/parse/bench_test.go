package parse

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/deltaio"
	"github.com/telcotraffic/telcotraffic/beam/flowgen"
	"github.com/telcotraffic/telcotraffic/lakehouse"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

// BenchmarkParseFile measures one gz day file (20,000 flows over 180
// apps) → flows data files, end to end on a local lake: rows/s.
func BenchmarkParseFile(b *testing.B) {
	ctx := context.Background()
	root := b.TempDir()
	d, _ := time.Parse(time.DateOnly, "2022-03-07")
	p, err := flowgen.WriteDay(root, d, "csv.gz", flowgen.Encode(flowgen.Day(d, 20000, benchApps, 1)))
	if err != nil {
		b.Fatal(err)
	}
	rel, _ := filepath.Rel(root, p)
	in := Input{Root: root, Key: filepath.ToSlash(rel), Day: "2022-03-07"}
	lake := b.TempDir()
	flows, _, err := deltaio.OpenOrCreate[cesnet.Flow](ctx, deltaio.TableSpec{Lake: lake, Name: FlowsTable, PartitionBy: []string{"week", "app"}})
	if err != nil {
		b.Fatal(err)
	}
	rejects, _, err := deltaio.OpenOrCreate[cesnet.Reject](ctx, deltaio.TableSpec{Lake: lake, Name: RejectsTable, PartitionBy: []string{"week"}})
	if err != nil {
		b.Fatal(err)
	}
	for _, write := range []bool{false, true} {
		name := "decode-only"
		if write {
			name = "write"
		}
		b.Run(name, func(b *testing.B) {
			benchParse(b, ctx, in, flows, rejects, &parseFileFn{WriteFlows: write, WriteRejects: write})
		})
	}
}

func benchParse(b *testing.B, ctx context.Context, in Input, flows, rejects *lakehouse.Table, fn *parseFileFn) {
	cpu0 := testenv.CPUTime()
	for range b.N {
		m, err := parseFile(ctx, in, flows, rejects, fn)
		if err != nil {
			b.Fatal(err)
		}
		if m.Counters[CounterRowsWritten] != 20000 {
			b.Fatal(m.Counters)
		}
	}
	b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "rows/s")
	// CPU per row is the steadier figure on a shared machine (the issue's
	// goal is stated in it).
	b.ReportMetric((testenv.CPUTime()-cpu0).Seconds()*1e6/float64(20000*b.N), "cpu-µs/row")
}

// benchApps is the number of services (so files per day) of the bench day.
var benchApps = 180
