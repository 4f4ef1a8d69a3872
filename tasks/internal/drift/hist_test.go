package drift

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// testRow returns a flow_features row whose values depend on rng; shift
// moves the packet sizes.
func testRow(rng *rand.Rand, shift float32) tablerow.FlowFeatures {
	r := tablerow.FlowFeatures{Stats: make([]float32, len(featuredef.FeatureStats)), PHist: make([]float32, 32), PPI: make([]float32, 120)}
	for i := range r.Stats {
		r.Stats[i] = float32(rng.NormFloat64())
	}
	r.Stats[8] = float32(rng.IntN(2)) // a flag
	for i := range 30 {
		r.PPI[4*i] = float32(rng.ExpFloat64() * 20)
		r.PPI[4*i+1] = float32(1 - 2*rng.IntN(2))
		r.PPI[4*i+2] = float32(rng.IntN(1400)) + shift
	}
	for i := range r.PHist {
		r.PHist[i] = float32(rng.Float64())
	}
	return r
}

func TestExtractOrder(t *testing.T) {
	r := testRow(rand.New(rand.NewPCG(1, 2)), 0)
	x := make([]float32, NumFeatures)
	Extract(&r, x)
	idx := func(name string) int {
		for i, n := range FeatureNames {
			if n == name {
				return i
			}
		}
		t.Fatalf("no feature %s", name)
		return -1
	}
	checks := map[string]float32{
		"log1p_bytes": r.Stats[0], "SIZE_1": r.PPI[2], "SIZE_4": r.PPI[4*3+2], "IPT_2": r.PPI[4], "DIR_4": r.PPI[4*3+1],
		"phist_src_sizes_0": r.PHist[0], "phist_dst_ipt_7": r.PHist[31],
	}
	for name, want := range checks {
		if got := x[idx(name)]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if NumFeatures != 28+15+32 {
		t.Errorf("NumFeatures = %d", NumFeatures)
	}
	short := tablerow.FlowFeatures{Stats: []float32{1}}
	Extract(&short, x)
	if x[1] != 0 || x[NumFeatures-1] != 0 {
		t.Error("short row: stale values kept")
	}
}

func TestBinning(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var sample []float32
	x := make([]float32, NumFeatures)
	for range 5000 {
		r := testRow(rng, 0)
		Extract(&r, x)
		sample = append(sample, x...)
	}
	b := FitBinning(sample, 10)
	if got := b.Bins(0); got != 10 {
		t.Errorf("continuous feature: %d bins, want 10", got)
	}
	if diff := cmp.Diff([]float32{1}, b.Edges[8]); diff != "" {
		t.Errorf("0/1 flag edges (-want +got):\n%s", diff)
	}
	h := b.NewHist()
	for i := range 5000 {
		b.Add(h, sample[i*NumFeatures:(i+1)*NumFeatures])
	}
	for _, f := range []int{0, 5, 40} {
		c := b.Feature(h, f)
		var n int64
		for _, v := range c {
			n += v
		}
		if n != 5000 {
			t.Errorf("feature %d: %d counted", f, n)
		}
	}
	// Quantile bins of the fitting sample are about equally full.
	for _, v := range b.Feature(h, 0)[1:] {
		if v < 400 || v > 600 {
			t.Errorf("quantile bin holds %d of 5000 (want ≈ 500): %v", v, b.Feature(h, 0))
			break
		}
	}
}

func TestCompare(t *testing.T) {
	same := Compare([]int64{10, 20, 30}, []int64{10, 20, 30})
	if same != (Divergence{}) {
		t.Errorf("identical: %+v", same)
	}
	// Hand-computed with ½ pseudo-counts: p = (0.5+90, 0.5+10)/101,
	// q = (0.5+50, 0.5+50)/101.
	p := []float64{90.5 / 101, 10.5 / 101}
	q := []float64{50.5 / 101, 50.5 / 101}
	var kl, psi, js float64
	for i := range p {
		kl += p[i] * math.Log(p[i]/q[i])
		psi += (p[i] - q[i]) * math.Log(p[i]/q[i])
		m := (p[i] + q[i]) / 2
		js += 0.5*p[i]*math.Log2(p[i]/m) + 0.5*q[i]*math.Log2(q[i]/m)
	}
	got := Compare([]int64{90, 10}, []int64{50, 50})
	for name, v := range map[string][2]float64{"kl": {got.KL, kl}, "psi": {got.PSI, psi}, "js": {got.JS, js}} {
		if math.Abs(v[0]-v[1]) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, v[0], v[1])
		}
	}
	// Empty bins stay finite; JS is bounded by 1 bit.
	d := Compare([]int64{1000, 0}, []int64{0, 1000})
	if math.IsInf(d.KL, 0) || math.IsNaN(d.KL) || d.JS > 1 || d.JS < 0.9 {
		t.Errorf("disjoint: %+v", d)
	}
}

// benchRows returns rows of four apps and a binning fitted on them.
func benchRows() ([]tablerow.FlowFeatures, *Binning) {
	rng := rand.New(rand.NewPCG(5, 6))
	const nrows = 4096
	rows := make([]tablerow.FlowFeatures, nrows)
	var sample []float32
	x := make([]float32, NumFeatures)
	for i := range rows {
		rows[i] = testRow(rng, 0)
		rows[i].App = []string{"a", "b", "c", "d"}[i%4]
		Extract(&rows[i], x)
		sample = append(sample, x...)
	}
	return rows, FitBinning(sample, DefaultBins)
}

// BenchmarkHistogram measures the histogram pass of the daily check:
// extracting the monitored features of a flow and counting them in the
// day's histogram and in its app's. Reported as flows/s (one core) and as
// flows per flow of BenchmarkHistogramPeer, run in the same process.
func BenchmarkHistogram(b *testing.B) {
	rows, bin := benchRows()
	all := bin.NewHist()
	apps := map[string]*Hist{}
	x := make([]float32, NumFeatures)
	idx := make([]int32, NumFeatures)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		r := &rows[n%len(rows)]
		n++
		Extract(r, x)
		bin.Index(x, idx)
		all.AddIndex(idx)
		h := apps[r.App]
		if h == nil {
			h = bin.NewHist()
			apps[r.App] = h
		}
		h.AddIndex(idx)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "flows/s")
}

// BenchmarkHistogramPeer is the peer of BenchmarkHistogram: the least a
// pass over the same values can do, extracting them and summing them (and
// looking up the app, as the histogram pass does). The ratio of the two
// flows/s is the histogram pass's cost in units of a plain loop, which a
// loaded, shared machine changes less than the flows/s themselves.
func BenchmarkHistogramPeer(b *testing.B) {
	rows, _ := benchRows()
	sums := map[string]float64{}
	x := make([]float32, NumFeatures)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		r := &rows[n%len(rows)]
		n++
		Extract(r, x)
		var s float32
		for _, v := range x {
			s += v
		}
		sums[r.App] += float64(s)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "flows/s")
}

// TestIndexMatchesLinear checks Index's four-step search against counting
// every edge, on values at, between and beyond the edges, NaN and ±Inf,
// for features of 1 to 15 edges.
func TestIndexMatchesLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var sample []float32
	x := make([]float32, NumFeatures)
	for range 3000 {
		r := testRow(rng, 0)
		Extract(&r, x)
		sample = append(sample, x...)
	}
	b := FitBinning(sample, DefaultBins)
	for f := range NumFeatures { // every edge count from 1 to 15
		b.Edges[f] = b.Edges[f][:min(len(b.Edges[f]), 1+f%maxEdges)]
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	got, want := make([]int32, NumFeatures), make([]int32, NumFeatures)
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, -0.5}
	for i := range 20000 {
		for f := range x {
			e := b.Edges[f]
			switch i % 4 {
			case 0:
				x[f] = e[rng.IntN(len(e))] // on an edge
			case 1:
				x[f] = special[rng.IntN(len(special))]
			default:
				x[f] = e[0] + (e[len(e)-1]-e[0]+2)*float32(rng.Float64()*1.2-0.1)
			}
		}
		b.Index(x, got)
		b.indexLinear(x, want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("row %d (-linear +Index):\n%s", i, diff)
		}
	}
}
