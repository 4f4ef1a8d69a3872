package synth

import (
	"io"
	"testing"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
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
}
