package seqnet

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// The forward pass in plain Go (im2col + BLAS): the same function as the
// gorgonia graph built by newNet, without the graph machine's transposes,
// broadcast copies and allocations, and safe for concurrent use. Activations
// stay time-major, (rows·SeqLen, channels), so no layer needs a transpose;
// a test checks it against the graph.

// scratch holds one batch's buffers.
type scratch struct {
	in        *inputs
	cols, act []float32
	wt        []float32
	h, h2     []float32
}

// forward computes the probabilities (n × k) of the n prepared flows in s.in
// into out. The input x is channel-major (C, SeqLen) per flow.
func (m *Model) forward(s *scratch, n int, out []float32) {
	c := m.cfg
	kern := c.Kernel
	in := s.in
	// Layer input, time-major (n·SeqLen, cin).
	cin := len(c.Channels)
	s.act = grow(s.act, n*SeqLen*cin)
	for r := range n {
		for ci := range cin {
			src := in.x[(r*cin+ci)*SeqLen : (r*cin+ci+1)*SeqLen]
			for t, v := range src {
				s.act[(r*SeqLen+t)*cin+ci] = v
			}
		}
	}
	for l, f := range c.Filters {
		w, b := m.params[2*l], m.params[2*l+1]
		width := cin * kern
		s.cols = grow(s.cols, n*SeqLen*width)
		im2col(s.cols, s.act, n, cin, kern)
		// (width, f): gonum's NoTrans·NoTrans kernel (axpy) beats its
		// NoTrans·Trans one (dot products) on these shapes.
		s.wt = grow(s.wt, width*f)
		for o := range f {
			for i := range width {
				s.wt[i*f+o] = w.data[o*width+i]
			}
		}
		s.h = grow(s.h, n*SeqLen*f)
		gemm(blas.NoTrans, blas.NoTrans, 1,
			blas32.General{Rows: n * SeqLen, Cols: width, Stride: width, Data: s.cols},
			blas32.General{Rows: width, Cols: f, Stride: f, Data: s.wt},
			0, blas32.General{Rows: n * SeqLen, Cols: f, Stride: f, Data: s.h})
		for p := range n * SeqLen {
			row := s.h[p*f : (p+1)*f]
			if in.mask[p] == 0 {
				clear(row)
				continue
			}
			for j := range row {
				row[j] = max(row[j]+b.data[j], 0)
			}
		}
		s.act, s.h = s.h, s.act
		cin = f
	}
	// Pool into the dense input: [max | mean | flow].
	f := cin
	width := 2*f + m.flowDim
	s.h = grow(s.h, n*width)
	for r := range n {
		row := s.h[r*width : (r+1)*width]
		mx, mean := row[:f], row[f:2*f]
		clear(mx)
		clear(mean)
		for t := range SeqLen {
			a := s.act[(r*SeqLen+t)*f : (r*SeqLen+t+1)*f]
			for j, v := range a {
				mx[j] = max(mx[j], v)
				mean[j] += v
			}
		}
		for j := range mean {
			mean[j] *= in.invCnt[r]
		}
		copy(row[2*f:], in.flow[r*m.flowDim:(r+1)*m.flowDim])
	}
	dense := m.params[2*len(c.Filters):]
	for i := 0; i < len(dense); i += 2 {
		w, b := dense[i], dense[i+1]
		outW := w.shape[1]
		dst := out
		if i+2 < len(dense) {
			s.h2 = grow(s.h2, n*outW)
			dst = s.h2
		}
		gemm(blas.NoTrans, blas.NoTrans, 1,
			blas32.General{Rows: n, Cols: width, Stride: width, Data: s.h},
			blas32.General{Rows: width, Cols: outW, Stride: outW, Data: w.data},
			0, blas32.General{Rows: n, Cols: outW, Stride: outW, Data: dst[:n*outW]})
		for r := range n {
			row := dst[r*outW : (r+1)*outW]
			for j := range row {
				row[j] += b.data[j]
			}
			if i+2 < len(dense) {
				for j := range row {
					row[j] = max(row[j], 0)
				}
			} else {
				softmax(row)
			}
		}
		if i+2 < len(dense) {
			s.h, s.h2 = s.h2, s.h
			width = outW
		}
	}
}

// im2col writes the conv layer's input rows: for each flow r and time t,
// the (cin·kern) window act[r, t−kern/2 … t+kern/2, ·] laid out channel-major
// (ci·kern + j), zero outside the sequence. act is time-major (n·SeqLen, cin).
func im2col(cols, act []float32, n, cin, kern int) {
	half, width := kern/2, cin*kern
	for r := range n {
		for t := range SeqLen {
			row := cols[(r*SeqLen+t)*width : (r*SeqLen+t+1)*width]
			if t < half || t+half >= SeqLen {
				clear(row)
			}
			for j := range kern {
				tt := t + j - half
				if tt < 0 || tt >= SeqLen {
					continue
				}
				for ci, v := range act[(r*SeqLen+tt)*cin : (r*SeqLen+tt+1)*cin] {
					row[ci*kern+j] = v
				}
			}
		}
	}
}

func softmax(row []float32) {
	mx := row[0]
	for _, v := range row {
		mx = max(mx, v)
	}
	var sum float64
	for j, v := range row {
		e := math.Exp(float64(v - mx))
		row[j] = float32(e)
		sum += e
	}
	for j := range row {
		row[j] = float32(float64(row[j]) / sum)
	}
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// scratchPool recycles batch buffers across Predict calls.
var scratchPool sync.Pool

func (m *Model) getScratch() *scratch {
	s, _ := scratchPool.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	c := len(m.cfg.Channels)
	if s.in == nil {
		s.in = &inputs{}
	}
	s.in.x = grow(s.in.x, predictBatch*c*SeqLen)
	s.in.mask = grow(s.in.mask, predictBatch*SeqLen)
	s.in.invCnt = grow(s.in.invCnt, predictBatch)
	s.in.flow = grow(s.in.flow, predictBatch*m.flowDim)
	return s
}
