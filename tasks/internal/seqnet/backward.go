package seqnet

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Training in plain Go: the forward pass of forward.go keeping every layer's
// activations, and its gradients (im2col convolutions, so a layer's backward
// is two BLAS products and a scatter). It computes what the gorgonia graph
// of newNet computes, about four times cheaper; a test checks the gradients
// against central differences.

// trainScratch holds one minibatch's activations and gradients.
type trainScratch struct {
	in     inputs
	x      []float32   // (n·T, C) time-major input
	cols   [][]float32 // per conv layer: im2col input (n·T, cin·k)
	acts   [][]float32 // per conv layer: output after ReLU and mask (n·T, f)
	wt     [][]float32 // per conv layer: weights as (cin·k, f)
	argmax []int32     // (n, f): time step of the max pool
	dense  [][]float32 // dense inputs: [pooled | flow] (n, 2f+F), then each hidden layer's output
	probs  []float32   // (n, K)
	// gradient buffers
	dOut, dIn, dAct, dPrev, dCols, dWt []float32
}

func (m *Model) newTrainScratch(bs int) *trainScratch {
	c := m.cfg
	s := &trainScratch{}
	s.in = inputs{
		x: make([]float32, bs*len(c.Channels)*SeqLen), mask: make([]float32, bs*SeqLen),
		invCnt: make([]float32, bs), flow: make([]float32, bs*m.flowDim),
	}
	s.cols = make([][]float32, len(c.Filters))
	s.acts = make([][]float32, len(c.Filters))
	s.wt = make([][]float32, len(c.Filters))
	s.dense = make([][]float32, len(c.Hidden)+1)
	return s
}

// forwardTrain runs the n prepared flows of s.in, keeping the activations,
// and leaves the probabilities in s.probs.
func (m *Model) forwardTrain(s *trainScratch, n int) {
	c := m.cfg
	kern := c.Kernel
	cin := len(c.Channels)
	s.x = grow(s.x, n*SeqLen*cin)
	for r := range n {
		for ci := range cin {
			for t, v := range s.in.x[(r*cin+ci)*SeqLen : (r*cin+ci+1)*SeqLen] {
				s.x[(r*SeqLen+t)*cin+ci] = v
			}
		}
	}
	act := s.x
	for l, f := range c.Filters {
		w, b := m.params[2*l], m.params[2*l+1]
		width := cin * kern
		s.cols[l] = grow(s.cols[l], n*SeqLen*width)
		cols := s.cols[l]
		im2col(cols, act, n, cin, kern)
		s.wt[l] = grow(s.wt[l], width*f)
		wt := s.wt[l]
		for o := range f {
			for i := range width {
				wt[i*f+o] = w.data[o*width+i]
			}
		}
		s.acts[l] = grow(s.acts[l], n*SeqLen*f)
		h := s.acts[l]
		gemm(blas.NoTrans, blas.NoTrans, 1,
			blas32.General{Rows: n * SeqLen, Cols: width, Stride: width, Data: cols},
			blas32.General{Rows: width, Cols: f, Stride: f, Data: wt},
			0, blas32.General{Rows: n * SeqLen, Cols: f, Stride: f, Data: h})
		for p := range n * SeqLen {
			row := h[p*f : (p+1)*f]
			if s.in.mask[p] == 0 {
				clear(row)
				continue
			}
			for j := range row {
				row[j] = max(row[j]+b.data[j], 0)
			}
		}
		act, cin = h, f
	}
	f := cin
	width := 2*f + m.flowDim
	s.dense[0] = grow(s.dense[0], n*width)
	s.argmax = growInt32(s.argmax, n*f)
	for r := range n {
		row := s.dense[0][r*width : (r+1)*width]
		mx, mean := row[:f], row[f:2*f]
		am := s.argmax[r*f : (r+1)*f]
		clear(mx)
		clear(mean)
		clear(am)
		for t := range SeqLen {
			for j, v := range act[(r*SeqLen+t)*f : (r*SeqLen+t+1)*f] {
				if v > mx[j] {
					mx[j], am[j] = v, int32(t)
				}
				mean[j] += v
			}
		}
		for j := range mean {
			mean[j] *= s.in.invCnt[r]
		}
		copy(row[2*f:], s.in.flow[r*m.flowDim:(r+1)*m.flowDim])
	}
	dense := m.params[2*len(c.Filters):]
	for i := 0; i < len(dense); i += 2 {
		w, b := dense[i], dense[i+1]
		outW := w.shape[1]
		var dst []float32
		if i+2 < len(dense) {
			s.dense[i/2+1] = grow(s.dense[i/2+1], n*outW)
			dst = s.dense[i/2+1]
		} else {
			s.probs = grow(s.probs, n*outW)
			dst = s.probs
		}
		gemm(blas.NoTrans, blas.NoTrans, 1,
			blas32.General{Rows: n, Cols: width, Stride: width, Data: s.dense[i/2]},
			blas32.General{Rows: width, Cols: outW, Stride: outW, Data: w.data},
			0, blas32.General{Rows: n, Cols: outW, Stride: outW, Data: dst})
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
		width = outW
	}
}

// backwardTrain computes the gradients of −Σ_r w_r log p(y_r) for the last
// forwardTrain into grads (overwritten) and returns the loss.
func (m *Model) backwardTrain(s *trainScratch, n int, labels []int, w []float32, grads [][]float32) float64 {
	c := m.cfg
	k := len(m.classes)
	for _, g := range grads {
		clear(g)
	}
	var loss float64
	s.dOut = grow(s.dOut, n*k)
	for r := range n {
		row := s.dOut[r*k : (r+1)*k]
		copy(row, s.probs[r*k:(r+1)*k])
		loss -= float64(w[r]) * math.Log(math.Max(float64(row[labels[r]]), 1e-12))
		row[labels[r]]--
		for j := range row {
			row[j] *= w[r]
		}
	}
	nc := len(c.Filters)
	dense := m.params[2*nc:]
	gd := grads[2*nc:]
	dOut := s.dOut
	for i := len(dense) - 2; i >= 0; i -= 2 {
		wp := dense[i]
		inW, outW := wp.shape[0], wp.shape[1]
		x := s.dense[i/2]
		gemm(blas.Trans, blas.NoTrans, 1,
			blas32.General{Rows: n, Cols: inW, Stride: inW, Data: x},
			blas32.General{Rows: n, Cols: outW, Stride: outW, Data: dOut},
			0, blas32.General{Rows: inW, Cols: outW, Stride: outW, Data: gd[i]})
		for r := range n {
			for j, v := range dOut[r*outW : (r+1)*outW] {
				gd[i+1][j] += v
			}
		}
		s.dIn = grow(s.dIn, n*inW)
		gemm(blas.NoTrans, blas.Trans, 1,
			blas32.General{Rows: n, Cols: outW, Stride: outW, Data: dOut},
			blas32.General{Rows: inW, Cols: outW, Stride: outW, Data: wp.data},
			0, blas32.General{Rows: n, Cols: inW, Stride: inW, Data: s.dIn})
		if i > 0 { // through the ReLU of the hidden layer that made x
			for p, v := range x[:n*inW] {
				if v <= 0 {
					s.dIn[p] = 0
				}
			}
		}
		s.dIn, s.dOut = s.dOut, s.dIn
		dOut = s.dOut
	}
	// dOut is now the gradient of [max | mean | flow] (n, 2f+F).
	f := c.Filters[nc-1]
	width := 2*f + m.flowDim
	s.dAct = grow(s.dAct, n*SeqLen*f)
	clear(s.dAct)
	for r := range n {
		d := dOut[r*width : (r+1)*width]
		am := s.argmax[r*f : (r+1)*f]
		inv := s.in.invCnt[r]
		for t := range SeqLen {
			if s.in.mask[r*SeqLen+t] == 0 {
				continue
			}
			da := s.dAct[(r*SeqLen+t)*f : (r*SeqLen+t+1)*f]
			for j := range da {
				da[j] = d[f+j] * inv
			}
		}
		for j := range f {
			if mx := d[j]; mx != 0 && s.dense[0][r*width+j] > 0 {
				s.dAct[(r*SeqLen+int(am[j]))*f+j] += mx
			}
		}
	}
	kern, half := c.Kernel, c.Kernel/2
	for l := nc - 1; l >= 0; l-- {
		fl := c.Filters[l]
		cin := len(c.Channels)
		if l > 0 {
			cin = c.Filters[l-1]
		}
		width := cin * kern
		h := s.acts[l]
		// Through ReLU and mask: zero where the output is zero.
		for p, v := range h[:n*SeqLen*fl] {
			if v <= 0 {
				s.dAct[p] = 0
			}
		}
		s.dWt = grow(s.dWt, width*fl)
		gemm(blas.Trans, blas.NoTrans, 1,
			blas32.General{Rows: n * SeqLen, Cols: width, Stride: width, Data: s.cols[l]},
			blas32.General{Rows: n * SeqLen, Cols: fl, Stride: fl, Data: s.dAct},
			0, blas32.General{Rows: width, Cols: fl, Stride: fl, Data: s.dWt})
		gw, gb := grads[2*l], grads[2*l+1]
		for o := range fl {
			for i := range width {
				gw[o*width+i] = s.dWt[i*fl+o]
			}
		}
		for p := range n * SeqLen {
			for j, v := range s.dAct[p*fl : (p+1)*fl] {
				gb[j] += v
			}
		}
		if l == 0 {
			break
		}
		s.dCols = grow(s.dCols, n*SeqLen*width)
		gemm(blas.NoTrans, blas.Trans, 1,
			blas32.General{Rows: n * SeqLen, Cols: fl, Stride: fl, Data: s.dAct},
			blas32.General{Rows: width, Cols: fl, Stride: fl, Data: s.wt[l]},
			0, blas32.General{Rows: n * SeqLen, Cols: width, Stride: width, Data: s.dCols})
		s.dPrev = grow(s.dPrev, n*SeqLen*cin)
		clear(s.dPrev)
		for r := range n {
			for t := range SeqLen {
				row := s.dCols[(r*SeqLen+t)*width : (r*SeqLen+t+1)*width]
				for j := range kern {
					tt := t + j - half
					if tt < 0 || tt >= SeqLen {
						continue
					}
					dp := s.dPrev[(r*SeqLen+tt)*cin : (r*SeqLen+tt+1)*cin]
					for ci := range dp {
						dp[ci] += row[ci*kern+j]
					}
				}
			}
		}
		s.dAct, s.dPrev = s.dPrev, s.dAct
	}
	return loss
}

func growInt32(b []int32, n int) []int32 {
	if cap(b) < n {
		return make([]int32, n)
	}
	return b[:n]
}
