package drift

import (
	"fmt"
	"math"
	"slices"

	"github.com/telcotraffic/telcotraffic/beam/cesnet"
	"github.com/telcotraffic/telcotraffic/beam/featuredef"
	"github.com/telcotraffic/telcotraffic/beam/tablerow"
)

// ProfilePackets is how many leading packets of the PPI are profiled, each
// separately (the published drift studies find DIR_4, SIZE_4 and SIZE_3 of
// CESNET-TLS-Year22 drift most).
const ProfilePackets = 5

// FeatureNames are the monitored features, in the order Extract writes
// them: the flow statistics of featuredef.FeatureStats; SIZE_i, IPT_i and DIR_i
// of packets 1–5; the 32 PHIST bins (phist_src_sizes_0 … phist_dst_ipt_7).
var FeatureNames = featureNames()

// NumFeatures is len(FeatureNames).
var NumFeatures = len(FeatureNames)

var phistNames = []string{"phist_src_sizes", "phist_dst_sizes", "phist_src_ipt", "phist_dst_ipt"}

func featureNames() []string {
	out := slices.Clone(featuredef.FeatureStats)
	for _, ch := range []string{"SIZE", "IPT", "DIR"} {
		for i := 1; i <= ProfilePackets; i++ {
			out = append(out, fmt.Sprintf("%s_%d", ch, i))
		}
	}
	for _, h := range phistNames {
		for i := range cesnet.PHistBins {
			out = append(out, fmt.Sprintf("%s_%d", h, i))
		}
	}
	return out
}

// ppi channels of tablerow.FlowFeatures.PPI, in the order of FeatureNames.
var ppiChannels = [3]int{2, 0, 1} // size, ipt, dir

// Extract writes the monitored features of r into dst (len NumFeatures).
// Missing values (short rows) read as 0.
func Extract(r *tablerow.FlowFeatures, dst []float32) {
	n := copy(dst, r.Stats)
	clear(dst[n:len(featuredef.FeatureStats)])
	j := len(featuredef.FeatureStats)
	for _, c := range ppiChannels {
		for i := range ProfilePackets {
			k := 4*i + c
			if k < len(r.PPI) {
				dst[j] = r.PPI[k]
			} else {
				dst[j] = 0
			}
			j++
		}
	}
	n = copy(dst[j:], r.PHist)
	clear(dst[j+n:])
}

// Binning holds the bin edges of every feature: value v falls in bin
// #{edges ≤ v}, so a feature with e edges has e+1 bins.
type Binning struct {
	Edges [][]float32 `json:"edges"`
	off   []int       // offset of each feature's first bin in a Hist
	size  int
	// pad holds each feature's edges in MaxBins slots, the unused ones NaN
	// (never ≤ a value), for Index's fixed four-step search.
	pad []float32
}

// maxEdges bounds the edges of a feature (MaxBins bins).
const maxEdges = 15

// MaxBins is the most bins a feature may have.
const MaxBins = maxEdges + 1

// FitBinning chooses up to bins quantile bins per feature from sample
// (rows of NumFeatures values, row-major). Repeated quantiles collapse, so
// discrete features (flags, directions) get one bin per value.
func FitBinning(sample []float32, bins int) *Binning {
	bins = min(max(bins, 2), MaxBins)
	nf := NumFeatures
	rows := len(sample) / nf
	b := &Binning{Edges: make([][]float32, nf)}
	col := make([]float32, rows)
	for f := range nf {
		for i := range rows {
			col[i] = sample[i*nf+f]
		}
		slices.Sort(col)
		var edges []float32
		for q := 1; q < bins && rows > 0; q++ {
			v := col[min(rows-1, q*rows/bins)]
			// No edge at the minimum: the bin below it would stay empty.
			if v > col[0] && (len(edges) == 0 || v > edges[len(edges)-1]) {
				edges = append(edges, v)
			}
		}
		if len(edges) == 0 { // a constant feature: below or above the constant
			edges = []float32{math.Nextafter32(col[max(0, rows-1)], float32(math.Inf(1)))}
			if rows == 0 {
				edges = []float32{0}
			}
		}
		b.Edges[f] = edges
	}
	b.init()
	return b
}

// init computes the offsets; call after decoding a Binning.
func (b *Binning) init() {
	b.off = make([]int, len(b.Edges)+1)
	for f, e := range b.Edges {
		b.off[f+1] = b.off[f] + len(e) + 1
	}
	b.size = b.off[len(b.Edges)]
	b.pad = make([]float32, MaxBins*len(b.Edges))
	nan := float32(math.NaN())
	for f, e := range b.Edges {
		p := b.pad[f*MaxBins : (f+1)*MaxBins]
		for i := range p {
			p[i] = nan
		}
		copy(p, e)
	}
}

// Validate checks a decoded binning.
func (b *Binning) Validate() error {
	if len(b.Edges) != NumFeatures {
		return fmt.Errorf("drift: binning has %d features, want %d", len(b.Edges), NumFeatures)
	}
	for f, e := range b.Edges {
		if len(e) == 0 || len(e) > maxEdges || !slices.IsSorted(e) {
			return fmt.Errorf("drift: binning of %s: %d edges, unsorted or not 1..%d", FeatureNames[f], len(e), maxEdges)
		}
	}
	b.init()
	return nil
}

// Bins returns the number of bins of feature f.
func (b *Binning) Bins(f int) int { return len(b.Edges[f]) + 1 }

// Hist counts feature values in the bins of a Binning.
type Hist struct {
	N      int64   `json:"n"`
	Counts []int64 `json:"counts"` // all features' bins, feature after feature
}

// NewHist returns an empty histogram for b.
func (b *Binning) NewHist() *Hist { return &Hist{Counts: make([]int64, b.size)} }

// Index writes, for each feature of x (NumFeatures values), the position
// of its bin in a Hist's counts into idx.
func (b *Binning) Index(x []float32, idx []int32) {
	pad, off := b.pad, b.off
	_ = idx[len(x)-1]
	for f, v := range x {
		// Count the edges ≤ v: the edges are sorted and padded with NaN to
		// 16 slots, so four steps of a binary search do, each a
		// conditional move rather than a branch that mispredicts half the
		// time.
		e := (*[MaxBins]float32)(pad[f*MaxBins:])
		i := 8 * b2i(e[7] <= v)
		i += 4 * b2i(e[(i+3)&15] <= v)
		i += 2 * b2i(e[(i+1)&15] <= v)
		i += b2i(e[i&15] <= v)
		idx[f] = int32(off[f] + i)
	}
}

// b2i is 1 for true, 0 for false (compiled to a flag set, not a branch).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// indexLinear is Index by counting every edge (the reference of the tests).
func (b *Binning) indexLinear(x []float32, idx []int32) {
	for f, v := range x {
		i := 0
		for _, e := range b.Edges[f] {
			if e <= v {
				i++
			}
		}
		idx[f] = int32(b.off[f] + i)
	}
}

// AddIndex counts one row given its bin positions (see Index).
func (h *Hist) AddIndex(idx []int32) {
	h.N++
	c := h.Counts
	for _, i := range idx {
		c[i]++
	}
}

// Add counts one row of NumFeatures values.
func (b *Binning) Add(h *Hist, x []float32) {
	var idx [128]int32
	b.Index(x, idx[:len(x)])
	h.AddIndex(idx[:len(x)])
}

// Feature returns the counts of feature f.
func (b *Binning) Feature(h *Hist, f int) []int64 { return h.Counts[b.off[f]:b.off[f+1]] }

// DefaultBins is the number of quantile bins per feature.
const DefaultBins = 16

// Smoothing is the pseudo-count added to every bin before divergences are
// computed (Jeffreys' ½), so empty bins give finite values.
const Smoothing = 0.5

func probs(c []int64) []float64 {
	var n float64
	for _, v := range c {
		n += float64(v)
	}
	k := float64(len(c))
	p := make([]float64, len(c))
	for i, v := range c {
		p[i] = (float64(v) + Smoothing) / (n + Smoothing*k)
	}
	return p
}

// Divergence holds the divergences of a current histogram from a reference.
type Divergence struct {
	KL  float64 `json:"kl"`  // KL(current ‖ reference), nats
	JS  float64 `json:"js"`  // Jensen–Shannon divergence, bits (0..1)
	PSI float64 `json:"psi"` // population stability index
}

// Compare returns the divergences of cur from ref (counts over the same
// bins), both smoothed with Smoothing.
func Compare(cur, ref []int64) Divergence {
	p, q := probs(cur), probs(ref)
	var d Divergence
	for i := range p {
		d.KL += p[i] * math.Log(p[i]/q[i])
		d.PSI += (p[i] - q[i]) * math.Log(p[i]/q[i])
		m := (p[i] + q[i]) / 2
		d.JS += (p[i]*math.Log2(p[i]/m) + q[i]*math.Log2(q[i]/m)) / 2
	}
	return d
}
