package seqnet

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// MM is the layout of CESNET's published multimodal model mm-CESNET
// (cesnet-models' Multimodal_CESNET; Luxemburk & Čejka, Computer Networks
// 2023), narrowed to fit the CPU as the PyTorch peer of `make bench-seqnet`
// is (torchpeer/peer.py MMCesnet), in plain Go:
//
//	PPI (B, 3: IPT, dir, size, 30) ─ conv 7 "same", ReLU, BN ─ conv 5 "same", ReLU, BN ×2
//	  ─ conv 5 valid, ReLU, BN ×2 (30 → 26 → 22) ─ conv 4 stride 2, ReLU (→ 10)
//	  ─ GeM pooling over time (learnt p, from 3) ─ BN ─ dropout 0.1 ──────────────┐
//	flow vector (B, F) ─ (linear, ReLU, BN) ×3 ─ dropout 0.1 ──────────────────────┴─ concat
//	  ─ linear, ReLU, BN, dropout 0.2 ─ linear ─ softmax (K)
//
// BN is batch normalisation (batch statistics while training, running
// averages with momentum 0.1 for prediction, as PyTorch's BatchNorm1d); the
// conv branch's BN normalises each channel over the batch and time. As in
// CESNET's transforms, padding is zero after scaling and is not masked
// otherwise. The published widths are 200/300 conv channels, 225 MLP units
// and 600 shared units; the defaults here are the peer's 64/96/128/256.
//
// Weight layouts: conv<i>.weight is (out, in, k) like PyTorch's Conv1d;
// linear weights (mlp<i>, shared, out) are (in, out), the transpose of
// PyTorch's Linear.

// MMConfig is mm-CESNET's architecture. Zero fields take the defaults.
type MMConfig struct {
	// Conv1 is the width of the three "same" conv layers; default 64
	// (published 200).
	Conv1 int `json:"conv1"`
	// Conv2 is the width of the last three conv layers and of the pooled
	// PPI features; default 96 (published 300).
	Conv2 int `json:"conv2"`
	// MLP is the width of the flow-stats branch's three layers; default 128
	// (published 225).
	MLP int `json:"mlp"`
	// Shared is the width of the joint layer; default 256 (published 600).
	Shared int `json:"shared"`
	// Dropout rates after the conv branch, the flow branch and the shared
	// layer; default 0.1, 0.1, 0.2. NoDropout turns all three off.
	ConvDropout   float64 `json:"conv_dropout"`
	MLPDropout    float64 `json:"mlp_dropout"`
	SharedDropout float64 `json:"shared_dropout"`
	NoDropout     bool    `json:"no_dropout,omitempty"`
}

func (c MMConfig) withDefaults() MMConfig {
	if c.Conv1 == 0 {
		c.Conv1 = 64
	}
	if c.Conv2 == 0 {
		c.Conv2 = 96
	}
	if c.MLP == 0 {
		c.MLP = 128
	}
	if c.Shared == 0 {
		c.Shared = 256
	}
	if c.NoDropout {
		c.ConvDropout, c.MLPDropout, c.SharedDropout = 0, 0, 0
	} else {
		if c.ConvDropout == 0 {
			c.ConvDropout = 0.1
		}
		if c.MLPDropout == 0 {
			c.MLPDropout = 0.1
		}
		if c.SharedDropout == 0 {
			c.SharedDropout = 0.2
		}
	}
	return c
}

// Validate reports whether c (with defaults applied) describes a network.
func (c MMConfig) Validate() error {
	c = c.withDefaults()
	if c.Conv1 < 1 || c.Conv2 < 1 || c.MLP < 1 || c.Shared < 1 {
		return fmt.Errorf("seqnet: mm-cesnet widths %d/%d/%d/%d must be positive", c.Conv1, c.Conv2, c.MLP, c.Shared)
	}
	for _, d := range []float64{c.ConvDropout, c.MLPDropout, c.SharedDropout} {
		if d < 0 || d >= 1 {
			return fmt.Errorf("seqnet: mm-cesnet dropout %v: want [0, 1)", d)
		}
	}
	return nil
}

// mmChannels are the PPI channels of mm-CESNET (no push flags).
var mmChannels = []int{ChanIPT, ChanDir, ChanSize}

// convSpec is one conv layer: lin → lout steps.
type convSpec struct {
	in, out, k, stride, pad int
	lin, lout               int
	bn                      bool
}

func mmConvs(c MMConfig) []convSpec {
	specs := []convSpec{
		{in: len(mmChannels), out: c.Conv1, k: 7, stride: 1, pad: 3, bn: true},
		{in: c.Conv1, out: c.Conv1, k: 5, stride: 1, pad: 2, bn: true},
		{in: c.Conv1, out: c.Conv1, k: 5, stride: 1, pad: 2, bn: true},
		{in: c.Conv1, out: c.Conv2, k: 5, stride: 1, bn: true},
		{in: c.Conv2, out: c.Conv2, k: 5, stride: 1, bn: true},
		{in: c.Conv2, out: c.Conv2, k: 4, stride: 2},
	}
	l := SeqLen
	for i := range specs {
		specs[i].lin = l
		l = (l+2*specs[i].pad-specs[i].k)/specs[i].stride + 1
		specs[i].lout = l
	}
	return specs
}

// mmMLPLayers is the depth of the flow-stats branch.
const mmMLPLayers = 3

// bnParams appends a batch norm's four tensors.
func bnParams(ps []param, name string, c int) []param {
	return append(ps,
		param{name: name + ".weight", shape: []int{c}},
		param{name: name + ".bias", shape: []int{c}},
		param{name: name + ".running_mean", shape: []int{c}},
		param{name: name + ".running_var", shape: []int{c}})
}

func mmLayout(c MMConfig, flowDim, k int) []param {
	var ps []param
	for i, s := range mmConvs(c) {
		ps = append(ps,
			param{name: fmt.Sprintf("conv%d.weight", i), shape: []int{s.out, s.in, s.k}},
			param{name: fmt.Sprintf("conv%d.bias", i), shape: []int{s.out}})
		if s.bn {
			ps = bnParams(ps, fmt.Sprintf("conv%d.bn", i), s.out)
		}
	}
	ps = append(ps, param{name: "gem.p", shape: []int{1}})
	ps = bnParams(ps, "ppi.bn", c.Conv2)
	in := flowDim
	for i := range mmMLPLayers {
		ps = append(ps,
			param{name: fmt.Sprintf("mlp%d.weight", i), shape: []int{in, c.MLP}},
			param{name: fmt.Sprintf("mlp%d.bias", i), shape: []int{c.MLP}})
		ps = bnParams(ps, fmt.Sprintf("mlp%d.bn", i), c.MLP)
		in = c.MLP
	}
	ps = append(ps,
		param{name: "shared.weight", shape: []int{c.Conv2 + c.MLP, c.Shared}},
		param{name: "shared.bias", shape: []int{c.Shared}})
	ps = bnParams(ps, "shared.bn", c.Shared)
	return append(ps,
		param{name: "out.weight", shape: []int{c.Shared, k}},
		param{name: "out.bias", shape: []int{k}})
}

// initMM fills the weights as PyTorch's defaults do (weights and biases
// uniform ±1/√fan-in), batch norms at scale 1, shift 0, running variance 1,
// and GeM's p at 3.
func initMM(ps []param, rng *rand.Rand) {
	fanIn := 0
	for i := range ps {
		p := &ps[i]
		p.data = make([]float32, size(p.shape))
		switch {
		case p.name == "gem.p":
			p.data[0] = 3
		case hasSuffix(p.name, ".weight") && len(p.shape) == 3: // conv (out, in, k)
			fanIn = p.shape[1] * p.shape[2]
			uniform(p.data, fanIn, rng)
		case hasSuffix(p.name, ".weight") && len(p.shape) == 2: // linear (in, out)
			fanIn = p.shape[0]
			uniform(p.data, fanIn, rng)
		case hasSuffix(p.name, ".bn.weight"), hasSuffix(p.name, ".running_var"):
			for j := range p.data {
				p.data[j] = 1
			}
		case hasSuffix(p.name, ".bn.bias"), hasSuffix(p.name, ".running_mean"):
		default: // a layer's bias, after its weight
			uniform(p.data, fanIn, rng)
		}
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

func uniform(d []float32, fanIn int, rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(max(fanIn, 1)))
	for j := range d {
		d[j] = float32((2*rng.Float64() - 1) * bound)
	}
}

// MM is a trained mm-CESNET classifier. Its methods are safe for concurrent
// use.
type MM struct {
	cfg       MMConfig
	classes   []string
	flowDim   int
	flowNames []string
	scalers   Scalers
	params    []param
	index     map[string]int
	info      TrainInfo
}

func newMM(cfg MMConfig, classes []string, flowDim int, flowNames []string, sc Scalers, ps []param, info TrainInfo) *MM {
	m := &MM{cfg: cfg, classes: classes, flowDim: flowDim, flowNames: flowNames, scalers: sc, params: ps,
		index: make(map[string]int, len(ps)), info: info}
	for i, p := range ps {
		m.index[p.name] = i
	}
	return m
}

// Classes returns the class list; Predict's column j is Classes()[j].
func (m *MM) Classes() []string { return slices.Clone(m.classes) }

// Config returns the architecture with defaults applied.
func (m *MM) Config() MMConfig { return m.cfg }

// FlowDim returns the length of the flow vector the model expects.
func (m *MM) FlowDim() int { return m.flowDim }

// Info returns how the model was trained.
func (m *MM) Info() TrainInfo { return m.info }

// p returns the data of the named tensor.
func (m *MM) p(name string) []float32 { return m.params[m.index[name]].data }

// bnCache keeps a batch norm's normalised input and inverse deviation.
type bnCache struct {
	xhat   []float32
	invStd []float64
}

// mmScratch holds one batch's activations and gradients.
type mmScratch struct {
	in      inputs
	x       []float32   // (n·30, 3) time-major
	cols    [][]float32 // per conv: im2col input (n·lout, k·in)
	wp      [][]float32 // per conv: weights as (out, k, in)
	relu    [][]float32 // per conv: output after ReLU (n·lout, out)
	bn      []bnCache   // per conv
	out     [][]float32 // per conv: output after BN (the ReLU output for the last)
	gemM    []float64   // (n, c2): mean over time of u^p
	gem     []float32   // (n, c2)
	ppiBN   bnCache
	ppi     []float32 // (n, c2) after BN and dropout
	ppiDrop []float32
	mlpRelu [mmMLPLayers][]float32
	mlpBN   [mmMLPLayers]bnCache
	mlpOut  [mmMLPLayers][]float32 // after BN (and dropout for the last)
	mlpDrop []float32
	joint   []float32 // (n, c2+mlp)
	shRelu  []float32
	shBN    bnCache
	shOut   []float32 // after BN and dropout
	shDrop  []float32
	probs   []float32 // (n, K)

	rng         *rand.Rand // dropout; nil: no dropout
	freezeDrops bool       // keep the dropout masks (gradient checks)

	gemUp []float64 // (n·lout, c2): max(u, ε)^p of the last conv's outputs
	gemLn []float64 // (n·lout, c2): ln max(u, ε)

	// backward
	d1, d2, dCols, dFlow, dWt []float32
}

func newMMScratch() *mmScratch {
	n := len(mmConvs(MMConfig{}))
	return &mmScratch{cols: make([][]float32, n), wp: make([][]float32, n), relu: make([][]float32, n), bn: make([]bnCache, n), out: make([][]float32, n)}
}

// convForward writes im2col(x) of spec s into cols and cols·Wᵀ + b into y.
// A row of cols is the window of x's steps t·stride − pad … + k − 1,
// step-major (j·in + ci), so a window inside the sequence is one copy of
// consecutive time-major rows; wp receives the weights in that order,
// (out, k, in).
func convForward(s convSpec, n int, x, w, b, cols, y []float32, wp *[]float32) {
	width := s.in * s.k
	*wp = grow(*wp, s.out*width)
	permuteKIn(*wp, w, s)
	for r := range n {
		xr := x[r*s.lin*s.in : (r+1)*s.lin*s.in]
		for t := range s.lout {
			row := cols[(r*s.lout+t)*width : (r*s.lout+t+1)*width]
			t0 := t*s.stride - s.pad
			lo, hi := max(t0, 0), min(t0+s.k, s.lin)
			clear(row[:(lo-t0)*s.in])
			copy(row[(lo-t0)*s.in:], xr[lo*s.in:hi*s.in])
			clear(row[(hi-t0)*s.in:])
		}
	}
	rows := n * s.lout
	gemm(blas.NoTrans, blas.Trans, 1,
		blas32.General{Rows: rows, Cols: width, Stride: width, Data: cols},
		blas32.General{Rows: s.out, Cols: width, Stride: width, Data: *wp},
		0, blas32.General{Rows: rows, Cols: s.out, Stride: s.out, Data: y})
	addBias(y[:rows*s.out], b)
}

// permuteKIn writes w (out, in, k) as (out, k, in).
func permuteKIn(dst, w []float32, s convSpec) {
	for o := range s.out {
		src := w[o*s.in*s.k : (o+1)*s.in*s.k]
		d := dst[o*s.in*s.k : (o+1)*s.in*s.k]
		for ci := range s.in {
			for j := range s.k {
				d[j*s.in+ci] = src[ci*s.k+j]
			}
		}
	}
}

// convBackward takes dy (n·lout, out), already through the ReLU, to the
// weight and bias gradients and, when dx is not nil, the input's gradient;
// wp holds the weights as convForward permuted them.
func convBackward(s convSpec, n int, cols, wp, dy, gw, gb, dx []float32, dCols, dWt *[]float32) {
	width := s.in * s.k
	rows := n * s.lout
	// colsᵀ·dy (width, out) reads cols in place and packs only dy, the
	// smaller operand; then transposed into gw (out, in, k).
	*dWt = grow(*dWt, width*s.out)
	gemm(blas.Trans, blas.NoTrans, 1,
		blas32.General{Rows: rows, Cols: width, Stride: width, Data: cols},
		blas32.General{Rows: rows, Cols: s.out, Stride: s.out, Data: dy},
		0, blas32.General{Rows: width, Cols: s.out, Stride: s.out, Data: *dWt})
	dw := *dWt
	for j := range s.k {
		for ci := range s.in {
			for o, v := range dw[(j*s.in+ci)*s.out : (j*s.in+ci+1)*s.out] {
				gw[(o*s.in+ci)*s.k+j] += v
			}
		}
	}
	colSums(gb, dy[:rows*s.out])
	if dx == nil {
		return
	}
	*dCols = grow(*dCols, rows*width)
	dc := *dCols
	gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: rows, Cols: s.out, Stride: s.out, Data: dy},
		blas32.General{Rows: s.out, Cols: width, Stride: width, Data: wp},
		0, blas32.General{Rows: rows, Cols: width, Stride: width, Data: dc})
	clear(dx[:n*s.lin*s.in])
	for r := range n {
		dxr := dx[r*s.lin*s.in : (r+1)*s.lin*s.in]
		for t := range s.lout {
			row := dc[(r*s.lout+t)*width : (r*s.lout+t+1)*width]
			t0 := t*s.stride - s.pad
			lo, hi := max(t0, 0), min(t0+s.k, s.lin)
			d := dxr[lo*s.in : hi*s.in]
			for i, v := range row[(lo-t0)*s.in : (hi-t0)*s.in] {
				d[i] += v
			}
		}
	}
}

// linearForward writes x·w + b into y; x is (n, in), w (in, out).
func linearForward(n, in, out int, x, w, b, y []float32) {
	gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: in, Stride: in, Data: x},
		blas32.General{Rows: in, Cols: out, Stride: out, Data: w},
		0, blas32.General{Rows: n, Cols: out, Stride: out, Data: y})
	addBias(y[:n*out], b)
}

// linearBackward adds the weight and bias gradients of dy (n, out) and,
// when dx is not nil, writes the input's gradient.
func linearBackward(n, in, out int, x, w, dy, gw, gb, dx []float32) {
	gemm(blas.Trans, blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: in, Stride: in, Data: x},
		blas32.General{Rows: n, Cols: out, Stride: out, Data: dy},
		1, blas32.General{Rows: in, Cols: out, Stride: out, Data: gw})
	colSums(gb, dy[:n*out])
	if dx != nil {
		gemm(blas.NoTrans, blas.Trans, 1,
			blas32.General{Rows: n, Cols: out, Stride: out, Data: dy},
			blas32.General{Rows: in, Cols: out, Stride: out, Data: w},
			0, blas32.General{Rows: n, Cols: in, Stride: in, Data: dx})
	}
}

func addBias(y, b []float32) {
	c := len(b)
	for p := 0; p < len(y); p += c {
		row := y[p : p+c]
		for j := range row {
			row[j] += b[j]
		}
	}
}

func colSums(dst, y []float32) {
	c := len(dst)
	for p := 0; p < len(y); p += c {
		for j, v := range y[p : p+c] {
			dst[j] += v
		}
	}
}

func reluInPlace(y []float32) {
	for j, v := range y {
		y[j] = max(v, 0)
	}
}

// reluBack zeroes dy where the ReLU's output a (≥ 0) is zero, without
// branches (half the outputs are zero, at random).
func reluBack(dy, a []float32) {
	dy = dy[:len(a)]
	for j, v := range a {
		b := math.Float32bits(v) &^ (1 << 31) // −0 counts as 0
		keep := uint32(-int32((b | -b) >> 31))
		dy[j] = math.Float32frombits(math.Float32bits(dy[j]) & keep)
	}
}

const (
	bnEps      = 1e-5
	bnMomentum = 0.1
)

// bnForward normalises x (rows, c) per channel into y: with the batch's
// statistics when training (updating the running ones), else with the
// running statistics.
func bnForward(rows, c int, x, gamma, beta, rm, rv []float32, train bool, cache *bnCache, y []float32) {
	if !train {
		for j := range c {
			inv := float32(1 / math.Sqrt(float64(rv[j])+bnEps))
			sc, sh := gamma[j]*inv, beta[j]-gamma[j]*inv*rm[j]
			for p := j; p < rows*c; p += c {
				y[p] = x[p]*sc + sh
			}
		}
		return
	}
	// One pass: sums of x − x₀ and its square, shifted by the first row
	// against cancellation.
	mean := make([]float64, c)
	sq := make([]float64, c)
	x0 := make([]float32, c)
	copy(x0, x[:c])
	sum := make([]float64, c)
	for p := 0; p < rows*c; p += c {
		for j, v := range x[p : p+c] {
			d := float64(v - x0[j])
			sum[j] += d
			sq[j] += d * d
		}
	}
	for j := range mean {
		m := sum[j] / float64(rows)
		mean[j] = float64(x0[j]) + m
		sq[j] = max(sq[j]-m*sum[j], 0)
	}
	cache.xhat = grow(cache.xhat, rows*c)
	if cap(cache.invStd) < c {
		cache.invStd = make([]float64, c)
	}
	cache.invStd = cache.invStd[:c]
	mu := make([]float32, c)
	inv := make([]float32, c)
	for j := range c {
		v := sq[j] / float64(rows)
		cache.invStd[j] = 1 / math.Sqrt(v+bnEps)
		mu[j], inv[j] = float32(mean[j]), float32(cache.invStd[j])
		unbiased := v
		if rows > 1 {
			unbiased = sq[j] / float64(rows-1)
		}
		rm[j] = float32((1-bnMomentum)*float64(rm[j]) + bnMomentum*mean[j])
		rv[j] = float32((1-bnMomentum)*float64(rv[j]) + bnMomentum*unbiased)
	}
	for p := 0; p < rows*c; p += c {
		xh, yy := cache.xhat[p:p+c], y[p:p+c]
		for j, v := range x[p : p+c] {
			h := (v - mu[j]) * inv[j]
			xh[j] = h
			yy[j] = gamma[j]*h + beta[j]
		}
	}
}

// bnBackward takes dy to dx (which may be dy) and adds the scale and shift
// gradients.
func bnBackward(rows, c int, dy, gamma []float32, cache *bnCache, gGamma, gBeta, dx []float32) {
	sumDy := make([]float64, c)
	sumDyX := make([]float64, c)
	for p := 0; p < rows*c; p += c {
		xh := cache.xhat[p : p+c]
		for j, d := range dy[p : p+c] {
			sumDy[j] += float64(d)
			sumDyX[j] += float64(d) * float64(xh[j])
		}
	}
	a := make([]float32, c)
	b := make([]float32, c)
	sc := make([]float32, c)
	for j := range c {
		gGamma[j] += float32(sumDyX[j])
		gBeta[j] += float32(sumDy[j])
		sc[j] = float32(float64(gamma[j]) * cache.invStd[j])
		a[j] = float32(sumDy[j] / float64(rows))
		b[j] = float32(sumDyX[j] / float64(rows))
	}
	for p := 0; p < rows*c; p += c {
		xh, d, o := cache.xhat[p:p+c], dy[p:p+c], dx[p:p+c]
		for j := range o {
			o[j] = sc[j] * (d[j] - a[j] - xh[j]*b[j])
		}
	}
}

// dropout multiplies y by a fresh (or, frozen, the kept) inverted-dropout
// mask at rate; without a generator it does nothing and drops the mask.
func (s *mmScratch) dropout(y []float32, rate float64, mask *[]float32) {
	if s.rng == nil || rate == 0 {
		*mask = (*mask)[:0]
		return
	}
	if !s.freezeDrops || len(*mask) != len(y) {
		*mask = grow(*mask, len(y))
		keep := float32(1 / (1 - rate))
		for j := range *mask {
			if s.rng.Float64() < rate {
				(*mask)[j] = 0
			} else {
				(*mask)[j] = keep
			}
		}
	}
	for j, v := range *mask {
		y[j] *= v
	}
}

// gemEps is GeM's lower clamp.
const gemEps = 1e-6

// forward runs the n prepared flows of s.in and leaves the probabilities in
// s.probs; train selects batch statistics (and dropout when s.rng is set).
func (m *MM) forward(s *mmScratch, n int, train bool) {
	convs := mmConvs(m.cfg)
	c2, mlp, sh, k := m.cfg.Conv2, m.cfg.MLP, m.cfg.Shared, len(m.classes)
	nc := len(mmChannels)
	s.x = grow(s.x, n*SeqLen*nc)
	for r := range n {
		for ci := range nc {
			for t, v := range s.in.x[(r*nc+ci)*SeqLen : (r*nc+ci+1)*SeqLen] {
				s.x[(r*SeqLen+t)*nc+ci] = v
			}
		}
	}
	x := s.x
	for i, cs := range convs {
		rows := n * cs.lout
		s.cols[i] = grow(s.cols[i], rows*cs.in*cs.k)
		s.relu[i] = grow(s.relu[i], rows*cs.out)
		name := fmt.Sprintf("conv%d", i)
		convForward(cs, n, x, m.p(name+".weight"), m.p(name+".bias"), s.cols[i], s.relu[i], &s.wp[i])
		reluInPlace(s.relu[i])
		if cs.bn {
			s.out[i] = grow(s.out[i], rows*cs.out)
			bnForward(rows, cs.out, s.relu[i], m.p(name+".bn.weight"), m.p(name+".bn.bias"),
				m.p(name+".bn.running_mean"), m.p(name+".bn.running_var"), train, &s.bn[i], s.out[i])
		} else {
			s.out[i] = s.relu[i]
		}
		x = s.out[i]
	}
	// GeM over the last conv's lout steps.
	last := convs[len(convs)-1]
	p := float64(m.p("gem.p")[0])
	s.gem = grow(s.gem, n*c2)
	if cap(s.gemM) < n*c2 {
		s.gemM = make([]float64, n*c2)
	}
	s.gemM = s.gemM[:n*c2]
	clear(s.gemM)
	if cap(s.gemUp) < n*last.lout*c2 {
		s.gemUp = make([]float64, n*last.lout*c2)
	}
	s.gemUp = s.gemUp[:n*last.lout*c2]
	if cap(s.gemLn) < n*last.lout*c2 {
		s.gemLn = make([]float64, n*last.lout*c2)
	}
	s.gemLn = s.gemLn[:n*last.lout*c2]
	lnEps := math.Log(gemEps)
	epsP := math.Exp(p * lnEps)
	for r := range n {
		acc := s.gemM[r*c2 : (r+1)*c2]
		for t := range last.lout {
			up := s.gemUp[(r*last.lout+t)*c2 : (r*last.lout+t+1)*c2]
			lu := s.gemLn[(r*last.lout+t)*c2 : (r*last.lout+t+1)*c2]
			for j, v := range x[(r*last.lout+t)*c2 : (r*last.lout+t+1)*c2] {
				if v <= gemEps { // a dead ReLU: the clamp, computed once
					lu[j], up[j] = lnEps, epsP
				} else {
					lu[j] = math.Log(float64(v))
					up[j] = math.Exp(p * lu[j])
				}
				acc[j] += up[j]
			}
		}
		for j := range acc {
			acc[j] /= float64(last.lout)
			s.gem[r*c2+j] = float32(math.Pow(acc[j], 1/p))
		}
	}
	s.ppi = grow(s.ppi, n*c2)
	bnForward(n, c2, s.gem, m.p("ppi.bn.weight"), m.p("ppi.bn.bias"), m.p("ppi.bn.running_mean"),
		m.p("ppi.bn.running_var"), train, &s.ppiBN, s.ppi)
	s.dropout(s.ppi, m.cfg.ConvDropout, &s.ppiDrop)
	// Flow-stats branch.
	fx, in := s.in.flow[:n*m.flowDim], m.flowDim
	for i := range mmMLPLayers {
		name := fmt.Sprintf("mlp%d", i)
		s.mlpRelu[i] = grow(s.mlpRelu[i], n*mlp)
		linearForward(n, in, mlp, fx, m.p(name+".weight"), m.p(name+".bias"), s.mlpRelu[i])
		reluInPlace(s.mlpRelu[i])
		s.mlpOut[i] = grow(s.mlpOut[i], n*mlp)
		bnForward(n, mlp, s.mlpRelu[i], m.p(name+".bn.weight"), m.p(name+".bn.bias"),
			m.p(name+".bn.running_mean"), m.p(name+".bn.running_var"), train, &s.mlpBN[i], s.mlpOut[i])
		fx, in = s.mlpOut[i], mlp
	}
	s.dropout(fx, m.cfg.MLPDropout, &s.mlpDrop)
	// Joint layers.
	jw := c2 + mlp
	s.joint = grow(s.joint, n*jw)
	for r := range n {
		copy(s.joint[r*jw:r*jw+c2], s.ppi[r*c2:(r+1)*c2])
		copy(s.joint[r*jw+c2:(r+1)*jw], fx[r*mlp:(r+1)*mlp])
	}
	s.shRelu = grow(s.shRelu, n*sh)
	linearForward(n, jw, sh, s.joint, m.p("shared.weight"), m.p("shared.bias"), s.shRelu)
	reluInPlace(s.shRelu)
	s.shOut = grow(s.shOut, n*sh)
	bnForward(n, sh, s.shRelu, m.p("shared.bn.weight"), m.p("shared.bn.bias"), m.p("shared.bn.running_mean"),
		m.p("shared.bn.running_var"), train, &s.shBN, s.shOut)
	s.dropout(s.shOut, m.cfg.SharedDropout, &s.shDrop)
	s.probs = grow(s.probs, n*k)
	linearForward(n, sh, k, s.shOut, m.p("out.weight"), m.p("out.bias"), s.probs)
	for r := range n {
		softmax(s.probs[r*k : (r+1)*k])
	}
}

// backward computes the gradients of −Σ_r w_r log p(y_r) of the last
// training forward pass into grads (overwritten; the running statistics'
// stay zero) and returns the loss.
func (m *MM) backward(s *mmScratch, n int, labels []int, w []float32, grads [][]float32) float64 {
	for _, g := range grads {
		clear(g)
	}
	g := func(name string) []float32 { return grads[m.index[name]] }
	convs := mmConvs(m.cfg)
	c2, mlp, sh, k := m.cfg.Conv2, m.cfg.MLP, m.cfg.Shared, len(m.classes)
	jw := c2 + mlp
	var loss float64
	dl := s.probs[:n*k]
	for r := range n {
		row := dl[r*k : (r+1)*k]
		loss -= float64(w[r]) * math.Log(math.Max(float64(row[labels[r]]), 1e-12))
		row[labels[r]]--
		for j := range row {
			row[j] *= w[r]
		}
	}
	// out, shared.
	s.d1 = grow(s.d1, n*max(sh, jw))
	dsh := s.d1[:n*sh]
	linearBackward(n, sh, k, s.shOut, m.p("out.weight"), dl, g("out.weight"), g("out.bias"), dsh)
	applyMask(dsh, s.shDrop)
	bnBackward(n, sh, dsh, m.p("shared.bn.weight"), &s.shBN, g("shared.bn.weight"), g("shared.bn.bias"), dsh)
	reluBack(dsh, s.shRelu)
	s.d2 = grow(s.d2, n*jw)
	dj := s.d2[:n*jw]
	linearBackward(n, jw, sh, s.joint, m.p("shared.weight"), dsh, g("shared.weight"), g("shared.bias"), dj)
	// Split the joint gradient: PPI part into d1 (n, c2), flow part kept in d3.
	s.dFlow = grow(s.dFlow, n*mlp)
	dflow := s.dFlow
	s.d1 = grow(s.d1, max(n*c2, n*SeqLen*max(m.cfg.Conv1, m.cfg.Conv2)))
	dp := s.d1[:n*c2]
	for r := range n {
		copy(dp[r*c2:(r+1)*c2], dj[r*jw:r*jw+c2])
		copy(dflow[r*mlp:(r+1)*mlp], dj[r*jw+c2:(r+1)*jw])
	}
	// Flow-stats branch.
	applyMask(dflow, s.mlpDrop)
	for i := mmMLPLayers - 1; i >= 0; i-- {
		name := fmt.Sprintf("mlp%d", i)
		bnBackward(n, mlp, dflow, m.p(name+".bn.weight"), &s.mlpBN[i], g(name+".bn.weight"), g(name+".bn.bias"), dflow)
		reluBack(dflow, s.mlpRelu[i])
		x, in := s.in.flow[:n*m.flowDim], m.flowDim
		var dx []float32
		if i > 0 {
			x, in = s.mlpOut[i-1], mlp
			dx = s.d2[:n*mlp]
		}
		linearBackward(n, in, mlp, x, m.p(name+".weight"), dflow, g(name+".weight"), g(name+".bias"), dx)
		if dx != nil {
			copy(dflow, dx)
		}
	}
	// PPI branch: dropout, BN, GeM.
	applyMask(dp, s.ppiDrop)
	bnBackward(n, c2, dp, m.p("ppi.bn.weight"), &s.ppiBN, g("ppi.bn.weight"), g("ppi.bn.bias"), dp)
	last := convs[len(convs)-1]
	p := float64(m.p("gem.p")[0])
	u := s.out[len(convs)-1]
	s.d2 = grow(s.d2, n*SeqLen*max(m.cfg.Conv1, m.cfg.Conv2))
	du := s.d2[:n*last.lout*c2]
	var dP float64
	for r := range n {
		for j := range c2 {
			mj := s.gemM[r*c2+j]
			gj := float64(s.gem[r*c2+j])
			d := float64(dp[r*c2+j])
			if d == 0 || mj <= 0 {
				for t := range last.lout {
					du[(r*last.lout+t)*c2+j] = 0
				}
				continue
			}
			// ∂g/∂u_t = m^(1/p−1) u_t^(p−1) / L; ∂g/∂p = g (Σ u^p ln u / (L m p) − ln m / p²).
			coef := math.Pow(mj, 1/p-1) / float64(last.lout)
			var sumLn float64
			for t := range last.lout {
				v := float64(u[(r*last.lout+t)*c2+j])
				up := s.gemUp[(r*last.lout+t)*c2+j]
				sumLn += up * s.gemLn[(r*last.lout+t)*c2+j]
				if v > gemEps {
					du[(r*last.lout+t)*c2+j] = float32(d * coef * up / v)
				} else {
					du[(r*last.lout+t)*c2+j] = 0
				}
			}
			dP += d * gj * (sumLn/(float64(last.lout)*mj*p) - math.Log(mj)/(p*p))
		}
	}
	g("gem.p")[0] = float32(dP)
	// Conv stack, last to first; dy alternates between d2 and d1.
	dy, spare := du, s.d1
	for i := len(convs) - 1; i >= 0; i-- {
		cs := convs[i]
		rows := n * cs.lout
		name := fmt.Sprintf("conv%d", i)
		if cs.bn {
			bnBackward(rows, cs.out, dy, m.p(name+".bn.weight"), &s.bn[i], g(name+".bn.weight"), g(name+".bn.bias"), dy)
		}
		reluBack(dy[:rows*cs.out], s.relu[i])
		var dx []float32
		if i > 0 {
			spare = grow(spare, n*cs.lin*cs.in)
			dx = spare[:n*cs.lin*cs.in]
		}
		convBackward(cs, n, s.cols[i], s.wp[i], dy, g(name+".weight"), g(name+".bias"), dx, &s.dCols, &s.dWt)
		if dx != nil {
			dy, spare = dx, dy[:cap(dy)]
		}
	}
	return loss
}

func applyMask(d, mask []float32) {
	if len(mask) == 0 {
		return
	}
	for j, v := range mask {
		d[j] *= v
	}
}

// mmPool recycles prediction buffers.
var mmPool sync.Pool

// Predict returns the class probabilities of b's flows, N × len(Classes())
// row-major.
func (m *MM) Predict(ctx context.Context, b Batch) ([]float32, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	if b.FlowDim != m.flowDim {
		return nil, fmt.Errorf("seqnet: batch has %d flow values per row, mm-cesnet wants %d", b.FlowDim, m.flowDim)
	}
	n, k := b.Len(), len(m.classes)
	out := make([]float32, n*k)
	s, _ := mmPool.Get().(*mmScratch)
	if s == nil {
		s = newMMScratch()
	}
	defer mmPool.Put(s)
	s.rng = nil
	for start := 0; start < n; start += predictBatch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("seqnet: mm-cesnet predict: %w", err)
		}
		cnt := min(predictBatch, n-start)
		s.prepare(cnt, m.flowDim)
		s.in.fill(&m.scalers, mmChannels, b.Slice(start, start+cnt), nil, cnt)
		m.forward(s, cnt, false)
		copy(out[start*k:(start+cnt)*k], s.probs[:cnt*k])
	}
	return out, nil
}

func (s *mmScratch) prepare(n, flowDim int) {
	s.in.x = grow(s.in.x, n*len(mmChannels)*SeqLen)
	s.in.mask = grow(s.in.mask, n*SeqLen)
	s.in.invCnt = grow(s.in.invCnt, n)
	s.in.flow = grow(s.in.flow, n*flowDim)
}

// TrainMM fits an mm-CESNET model on train, early-stopping on val (which
// may be empty) as Train does: the same scalers, class weights, shuffled
// minibatches, Adam, step size schedule, validation loss after each epoch
// and best weights kept (with their batch norms' running statistics).
func TrainMM(ctx context.Context, cfg MMConfig, tc TrainConfig, classes []string, train, val Dataset) (*MM, error) {
	cfg = cfg.withDefaults()
	tc = tc.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	k := len(classes)
	if err := checkData(tc, k, train, val); err != nil {
		return nil, err
	}
	if err := checkFlows(tc, train, val); err != nil {
		return nil, err
	}
	if train.FlowDim < 1 {
		return nil, fmt.Errorf("seqnet: mm-cesnet needs flow statistics (flow dim %d)", train.FlowDim)
	}
	rng := rand.New(rand.NewPCG(tc.Seed, 0x3c35))
	ps := mmLayout(cfg, train.FlowDim, k)
	initMM(ps, rng)
	m := newMM(cfg, slices.Clone(classes), train.FlowDim, slices.Clone(tc.FlowNames), fitScalers(train.Batch), ps, TrainInfo{})
	l := newLoop(tc, k, train, val, m.params, &m.info)
	s := newMMScratch()
	s.rng = rand.New(rand.NewPCG(tc.Seed, 0xd40))
	err := l.run(ctx, "mm-cesnet", rng, train, val, m.Predict, func(rows []int) (float64, float32, bool) {
		n := len(rows)
		if n < 2 { // batch statistics need two rows
			return 0, 0, false
		}
		s.prepare(n, m.flowDim)
		s.in.fill(&m.scalers, mmChannels, train.Batch, rows, 0)
		m.forward(s, n, true)
		return m.backward(s, n, l.labels[:n], l.w[:n], l.grads), 1, true
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
