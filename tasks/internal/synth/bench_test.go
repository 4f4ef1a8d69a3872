package synth

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/lakehouse/testenv"
)

// BenchmarkFlows measures generation and encoding of one day's flows, rows/s
// per core (no compression, no disk).
func BenchmarkFlows(b *testing.B) {
	d := day("2022-10-04")
	cfg, err := Config{Out: "x", Start: d, Days: 1, FlowsPerDay: 20000, Seed: 1}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	w := getWorld()
	g := newFlowGen(w)
	cal := newCalendar(cfg.Holidays, cfg.MissingDays)
	ds := dayStateOf(cfg.Script, d)
	var evs []event
	var rows int
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testenv.CPUTime()
	for range b.N {
		g.r = daySeed(cfg.Seed, d)
		evs, _ = planDay(cfg, cal, g.r, d, evs)
		enc := cesnet.NewEncoder(io.Discard)
		for i, e := range evs {
			if err := enc.Write(g.flow(w.apps[e.app], ds, int64(i+1), e.t)); err != nil {
				b.Fatal(err)
			}
		}
		enc.Flush()
		rows += len(evs)
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric((testenv.CPUTime()-cpu0).Seconds()*1e6/float64(rows), "cpu-us/row")
}

// BenchmarkDayCompress measures the compression of a generated day's CSV by
// gzip level, CPU µs per row (the generator's other cost besides
// BenchmarkFlows).
func BenchmarkDayCompress(b *testing.B) {
	d := day("2022-10-04")
	cfg, err := Config{Out: "x", Start: d, Days: 1, FlowsPerDay: 20000, Seed: 1}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	w := getWorld()
	g := newFlowGen(w)
	cal := newCalendar(cfg.Holidays, cfg.MissingDays)
	ds := dayStateOf(cfg.Script, d)
	g.r = daySeed(cfg.Seed, d)
	evs, _ := planDay(cfg, cal, g.r, d, nil)
	var csv bytes.Buffer
	enc := cesnet.NewEncoder(&csv)
	for i, e := range evs {
		if err := enc.Write(g.flow(w.apps[e.app], ds, int64(i+1), e.t)); err != nil {
			b.Fatal(err)
		}
	}
	enc.Flush()
	for _, level := range []int{gzip.BestSpeed, 3, gzip.DefaultCompression} {
		b.Run(fmt.Sprintf("gzip%d", level), func(b *testing.B) {
			var size int
			cpu0 := testenv.CPUTime()
			for range b.N {
				var out bytes.Buffer
				zw, _ := gzip.NewWriterLevel(&out, level)
				zw.Write(csv.Bytes())
				zw.Close()
				size = out.Len()
			}
			b.ReportMetric((testenv.CPUTime()-cpu0).Seconds()*1e6/float64(len(evs)*b.N), "cpu-us/row")
			b.ReportMetric(float64(size)/float64(len(evs)), "B/row")
			b.ReportMetric(float64(csv.Len())/float64(len(evs)), "csvB/row")
		})
	}
}
