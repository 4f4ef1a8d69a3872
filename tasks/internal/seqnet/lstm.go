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

// The seed design's sequence model: a masked LSTM over the packet sequence
// (30 steps × 3 channels: IPT, direction, size) with 64 units, whose last
// state feeds a softmax layer (Keras: Masking(0) → LSTM(64) → Dense(K,
// softmax)). Padding steps leave the state as it is, as Keras's masking does,
// so the prediction depends only on a flow's real packets. It is written in
// plain Go (batched BLAS products, backpropagation through time, Adam).

// LSTMConfig is the LSTM's architecture. Zero fields take the defaults.
type LSTMConfig struct {
	// Channels are the PPI channels of each step; default IPT, direction,
	// size (the seed's 30×3).
	Channels []int `json:"channels"`
	Units    int   `json:"units"` // default 64
}

func (c LSTMConfig) withDefaults() LSTMConfig {
	if c.Channels == nil {
		c.Channels = []int{ChanIPT, ChanDir, ChanSize}
	}
	if c.Units == 0 {
		c.Units = 64
	}
	return c
}

// Validate reports whether c (with defaults applied) describes a network.
func (c LSTMConfig) Validate() error {
	c = c.withDefaults()
	if err := checkChannels(c.Channels); err != nil {
		return err
	}
	if c.Units < 1 {
		return fmt.Errorf("seqnet: lstm units %d must be positive", c.Units)
	}
	return nil
}

// LSTM is a trained LSTM classifier. Its methods are safe for concurrent use.
type LSTM struct {
	cfg     LSTMConfig
	classes []string
	scalers Scalers
	// params: lstm.weight_ih (C, 4H), lstm.weight_hh (H, 4H), lstm.bias
	// (4H), dense.weight (H, K), dense.bias (K). Gates in PyTorch's order
	// i, f, g, o; the matrices are the transposes of PyTorch's.
	params []param
	info   TrainInfo
}

func lstmLayout(c LSTMConfig, k int) []param {
	h4 := 4 * c.Units
	return []param{
		{name: "lstm.weight_ih", shape: []int{len(c.Channels), h4}},
		{name: "lstm.weight_hh", shape: []int{c.Units, h4}},
		{name: "lstm.bias", shape: []int{h4}},
		{name: "dense.weight", shape: []int{c.Units, k}},
		{name: "dense.bias", shape: []int{k}},
	}
}

// initLSTM fills the weights as PyTorch does (uniform ±1/√H for the LSTM),
// Glorot-normal for the softmax layer, and a forget-gate bias of 1.
func initLSTM(ps []param, units int, rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(units))
	for i := range ps {
		p := &ps[i]
		p.data = make([]float32, size(p.shape))
		switch p.name {
		case "lstm.weight_ih", "lstm.weight_hh":
			for j := range p.data {
				p.data[j] = float32((2*rng.Float64() - 1) * bound)
			}
		case "lstm.bias":
			for j := units; j < 2*units; j++ {
				p.data[j] = 1
			}
		case "dense.weight":
			std := math.Sqrt(2 / float64(p.shape[0]+p.shape[1]))
			for j := range p.data {
				p.data[j] = float32(rng.NormFloat64() * std)
			}
		}
	}
}

// Classes returns the class list; Predict's column j is Classes()[j].
func (m *LSTM) Classes() []string { return slices.Clone(m.classes) }

// Config returns the architecture with defaults applied.
func (m *LSTM) Config() LSTMConfig { return m.cfg }

// Info returns how the model was trained.
func (m *LSTM) Info() TrainInfo { return m.info }

// lstmScratch holds one batch's activations (time-major: step t's rows are
// [t·n, (t+1)·n)).
type lstmScratch struct {
	in    inputs
	x     []float32 // (T·n, C)
	gates []float32 // (T·n, 4H): after the nonlinearities
	c, h  []float32 // ((T+1)·n, H): states before step 0 and after each step
	mask  []float32 // (T·n)
	out   []float32 // (n, K)
	// backward
	dA, dh, dc, tmp []float32
}

func (s *lstmScratch) prepare(cfg LSTMConfig, n, k int) {
	c, h := len(cfg.Channels), cfg.Units
	s.in.x = grow(s.in.x, n*c*SeqLen)
	s.in.mask = grow(s.in.mask, n*SeqLen)
	s.in.invCnt = grow(s.in.invCnt, n)
	s.in.flow = s.in.flow[:0]
	s.x = grow(s.x, SeqLen*n*c)
	s.gates = grow(s.gates, SeqLen*n*4*h)
	s.c = grow(s.c, (SeqLen+1)*n*h)
	s.h = grow(s.h, (SeqLen+1)*n*h)
	s.mask = grow(s.mask, SeqLen*n)
	s.out = grow(s.out, n*k)
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func tanh32(x float32) float32 { return float32(math.Tanh(float64(x))) }

// forward runs the prepared n flows of s.in and leaves the probabilities in
// s.out (n × K).
func (m *LSTM) forward(s *lstmScratch, n int) {
	cfg := m.cfg
	nc, hu, k := len(cfg.Channels), cfg.Units, len(m.classes)
	h4 := 4 * hu
	wih, whh, b := m.params[0].data, m.params[1].data, m.params[2].data
	// Time-major inputs and mask.
	for r := range n {
		for t := range SeqLen {
			s.mask[t*n+r] = s.in.mask[r*SeqLen+t]
			for ci := range nc {
				s.x[(t*n+r)*nc+ci] = s.in.x[(r*nc+ci)*SeqLen+t]
			}
		}
	}
	// Input projections of every step at once, then the bias.
	gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: SeqLen * n, Cols: nc, Stride: nc, Data: s.x},
		blas32.General{Rows: nc, Cols: h4, Stride: h4, Data: wih},
		0, blas32.General{Rows: SeqLen * n, Cols: h4, Stride: h4, Data: s.gates})
	clear(s.c[:n*hu])
	clear(s.h[:n*hu])
	for t := range SeqLen {
		g := s.gates[t*n*h4 : (t+1)*n*h4]
		hPrev, cPrev := s.h[t*n*hu:(t+1)*n*hu], s.c[t*n*hu:(t+1)*n*hu]
		hNext, cNext := s.h[(t+1)*n*hu:(t+2)*n*hu], s.c[(t+1)*n*hu:(t+2)*n*hu]
		if t > 0 {
			gemm(blas.NoTrans, blas.NoTrans, 1,
				blas32.General{Rows: n, Cols: hu, Stride: hu, Data: hPrev},
				blas32.General{Rows: hu, Cols: h4, Stride: h4, Data: whh},
				1, blas32.General{Rows: n, Cols: h4, Stride: h4, Data: g})
		}
		for r := range n {
			gr := g[r*h4 : (r+1)*h4]
			hp, cp := hPrev[r*hu:(r+1)*hu], cPrev[r*hu:(r+1)*hu]
			hn, cn := hNext[r*hu:(r+1)*hu], cNext[r*hu:(r+1)*hu]
			if s.mask[t*n+r] == 0 {
				copy(hn, hp)
				copy(cn, cp)
				clear(gr)
				continue
			}
			for j := range hu {
				i := sigmoid(gr[j] + b[j])
				f := sigmoid(gr[hu+j] + b[hu+j])
				gg := tanh32(gr[2*hu+j] + b[2*hu+j])
				o := sigmoid(gr[3*hu+j] + b[3*hu+j])
				gr[j], gr[hu+j], gr[2*hu+j], gr[3*hu+j] = i, f, gg, o
				c := f*cp[j] + i*gg
				cn[j] = c
				hn[j] = o * tanh32(c)
			}
		}
	}
	// Softmax layer over the last state.
	wd, bd := m.params[3].data, m.params[4].data
	last := s.h[SeqLen*n*hu : (SeqLen+1)*n*hu]
	gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: hu, Stride: hu, Data: last},
		blas32.General{Rows: hu, Cols: k, Stride: k, Data: wd},
		0, blas32.General{Rows: n, Cols: k, Stride: k, Data: s.out[:n*k]})
	for r := range n {
		row := s.out[r*k : (r+1)*k]
		for j := range row {
			row[j] += bd[j]
		}
		softmax(row)
	}
}

// backward computes the gradients of the loss −Σ_r w_r log p(y_r) of the
// last forward pass into grads (one slice per parameter, overwritten) and
// returns the loss.
func (m *LSTM) backward(s *lstmScratch, n int, labels []int, w []float32, grads [][]float32) float64 {
	cfg := m.cfg
	nc, hu, k := len(cfg.Channels), cfg.Units, len(m.classes)
	h4 := 4 * hu
	for _, g := range grads {
		clear(g)
	}
	// dlogits = w_r (p − onehot), in place of the probabilities.
	var loss float64
	dl := s.out[:n*k]
	for r := range n {
		row := dl[r*k : (r+1)*k]
		loss -= float64(w[r]) * math.Log(math.Max(float64(row[labels[r]]), 1e-12))
		row[labels[r]]--
		for j := range row {
			row[j] *= w[r]
		}
	}
	wd := m.params[3].data
	last := s.h[SeqLen*n*hu : (SeqLen+1)*n*hu]
	gemm(blas.Trans, blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: hu, Stride: hu, Data: last},
		blas32.General{Rows: n, Cols: k, Stride: k, Data: dl},
		0, blas32.General{Rows: hu, Cols: k, Stride: k, Data: grads[3]})
	for r := range n {
		for j, v := range dl[r*k : (r+1)*k] {
			grads[4][j] += v
		}
	}
	s.dh = grow(s.dh, n*hu)
	s.dc = grow(s.dc, n*hu)
	s.tmp = grow(s.tmp, n*hu)
	s.dA = grow(s.dA, SeqLen*n*h4)
	gemm(blas.NoTrans, blas.Trans, 1,
		blas32.General{Rows: n, Cols: k, Stride: k, Data: dl},
		blas32.General{Rows: hu, Cols: k, Stride: k, Data: wd},
		0, blas32.General{Rows: n, Cols: hu, Stride: hu, Data: s.dh})
	clear(s.dc)
	whh := m.params[1].data
	for t := SeqLen - 1; t >= 0; t-- {
		g := s.gates[t*n*h4 : (t+1)*n*h4]
		dA := s.dA[t*n*h4 : (t+1)*n*h4]
		cPrev, cNext := s.c[t*n*hu:(t+1)*n*hu], s.c[(t+1)*n*hu:(t+2)*n*hu]
		for r := range n {
			da := dA[r*h4 : (r+1)*h4]
			if s.mask[t*n+r] == 0 {
				clear(da) // the state passes through: dh, dc unchanged
				continue
			}
			gr := g[r*h4 : (r+1)*h4]
			dh, dc := s.dh[r*hu:(r+1)*hu], s.dc[r*hu:(r+1)*hu]
			cp, cn := cPrev[r*hu:(r+1)*hu], cNext[r*hu:(r+1)*hu]
			for j := range hu {
				i, f, gg, o := gr[j], gr[hu+j], gr[2*hu+j], gr[3*hu+j]
				tc := tanh32(cn[j])
				dcj := dc[j] + dh[j]*o*(1-tc*tc)
				da[j] = dcj * gg * i * (1 - i)
				da[hu+j] = dcj * cp[j] * f * (1 - f)
				da[2*hu+j] = dcj * i * (1 - gg*gg)
				da[3*hu+j] = dh[j] * tc * o * (1 - o)
				dc[j] = dcj * f
			}
		}
		// dh_{t-1} = dA·Whhᵀ for the real rows; padded rows pass dh through.
		if t > 0 {
			gemm(blas.NoTrans, blas.Trans, 1,
				blas32.General{Rows: n, Cols: h4, Stride: h4, Data: dA},
				blas32.General{Rows: hu, Cols: h4, Stride: h4, Data: whh},
				0, blas32.General{Rows: n, Cols: hu, Stride: hu, Data: s.tmp})
			for r := range n {
				if s.mask[t*n+r] != 0 {
					copy(s.dh[r*hu:(r+1)*hu], s.tmp[r*hu:(r+1)*hu])
				}
			}
			hPrev := s.h[t*n*hu : (t+1)*n*hu]
			gemm(blas.Trans, blas.NoTrans, 1,
				blas32.General{Rows: n, Cols: hu, Stride: hu, Data: hPrev},
				blas32.General{Rows: n, Cols: h4, Stride: h4, Data: dA},
				1, blas32.General{Rows: hu, Cols: h4, Stride: h4, Data: grads[1]})
		}
	}
	gemm(blas.Trans, blas.NoTrans, 1,
		blas32.General{Rows: SeqLen * n, Cols: nc, Stride: nc, Data: s.x},
		blas32.General{Rows: SeqLen * n, Cols: h4, Stride: h4, Data: s.dA},
		0, blas32.General{Rows: nc, Cols: h4, Stride: h4, Data: grads[0]})
	for p := range SeqLen * n {
		for j, v := range s.dA[p*h4 : (p+1)*h4] {
			grads[2][j] += v
		}
	}
	return loss
}

// lstmPool recycles batch buffers across Predict calls.
var lstmPool sync.Pool

// Predict returns the class probabilities of b's flows, N × len(Classes())
// row-major. Only b's PPI is used.
func (m *LSTM) Predict(ctx context.Context, b Batch) ([]float32, error) {
	if err := b.validate(); err != nil {
		return nil, err
	}
	n, k := b.Len(), len(m.classes)
	out := make([]float32, n*k)
	s, _ := lstmPool.Get().(*lstmScratch)
	if s == nil {
		s = &lstmScratch{}
	}
	defer lstmPool.Put(s)
	ppiOnly := Batch{PPI: b.PPI, Flow: nil, FlowDim: 0}
	for start := 0; start < n; start += predictBatch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("seqnet: lstm predict: %w", err)
		}
		cnt := min(predictBatch, n-start)
		s.prepare(m.cfg, cnt, k)
		s.in.fill(&m.scalers, m.cfg.Channels, ppiOnly.Slice(start, start+cnt), nil, cnt)
		m.forward(s, cnt)
		copy(out[start*k:(start+cnt)*k], s.out[:cnt*k])
	}
	return out, nil
}

// adam is Adam's state over a parameter list.
type adam struct {
	lr, b1, b2, eps float64
	step            int
	m, v            [][]float32
}

func newAdam(ps []param, lr float64) *adam {
	a := &adam{lr: lr, b1: 0.9, b2: 0.999, eps: 1e-8}
	for _, p := range ps {
		a.m = append(a.m, make([]float32, len(p.data)))
		a.v = append(a.v, make([]float32, len(p.data)))
	}
	return a
}

// update applies one step of grads (scaled by scale) to ps.
func (a *adam) update(ps []param, grads [][]float32, scale float32) {
	a.step++
	c1 := 1 - math.Pow(a.b1, float64(a.step))
	c2 := 1 - math.Pow(a.b2, float64(a.step))
	lr := float32(a.lr * math.Sqrt(c2) / c1)
	b1, b2, eps := float32(a.b1), float32(a.b2), float32(a.eps*math.Sqrt(c2))
	for i, p := range ps {
		m, v := a.m[i], a.v[i]
		for j, g := range grads[i] {
			g *= scale
			m[j] = b1*m[j] + (1-b1)*g
			v[j] = b2*v[j] + (1-b2)*g*g
			p.data[j] -= lr * m[j] / (float32(math.Sqrt(float64(v[j]))) + eps)
		}
	}
}

// lstmClipNorm bounds the global gradient norm of a step.
const lstmClipNorm = 5

// TrainLSTM fits an LSTM on train's PPI, early-stopping on val (which may be
// empty) as Train does: the same class weights, shuffled minibatches, Adam,
// validation loss after each epoch, best weights kept, the same TrainConfig.
func TrainLSTM(ctx context.Context, cfg LSTMConfig, tc TrainConfig, classes []string, train, val Dataset) (*LSTM, error) {
	cfg = cfg.withDefaults()
	tc = tc.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	k := len(classes)
	if err := checkData(tc, k, train, val); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(tc.Seed, 0x157a))
	sc := fitScalers(Batch{PPI: train.PPI})
	sc.Flow = []Scaler{}
	m := &LSTM{cfg: cfg, classes: slices.Clone(classes), scalers: sc, params: lstmLayout(cfg, k)}
	initLSTM(m.params, cfg.Units, rng)
	l := newLoop(tc, k, train, val, m.params, &m.info)
	s := &lstmScratch{}
	ppi := make([]float32, l.bs*rowPPI)
	err := l.run(ctx, "lstm", rng, train, val, m.Predict, func(rows []int) (float64, float32, bool) {
		n := len(rows)
		for i, r := range rows {
			copy(ppi[i*rowPPI:(i+1)*rowPPI], train.PPI[r*rowPPI:(r+1)*rowPPI])
		}
		s.prepare(cfg, n, k)
		s.in.fill(&m.scalers, cfg.Channels, Batch{PPI: ppi[:n*rowPPI]}, nil, n)
		m.forward(s, n)
		loss := m.backward(s, n, l.labels[:n], l.w[:n], l.grads)
		var norm float64
		for _, g := range l.grads {
			for _, v := range g {
				norm += float64(v) * float64(v)
			}
		}
		scale := float32(1)
		if norm = math.Sqrt(norm); norm > lstmClipNorm {
			scale = float32(lstmClipNorm / norm)
		}
		return loss, scale, true
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
