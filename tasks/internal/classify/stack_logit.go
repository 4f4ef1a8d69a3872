package classify

import (
	"math"
	"math/rand/v2"
)

// LogitStacker is the learned stacker: class scores
// z_c = Σ_m A[m][c]·log p_m,c + B[c], softmax-normalised. It is fitted on the
// validation week, which no member trained on, so its per-class weights and
// biases learn how far to trust each member on each class and undo the
// class-prior shift between the capped training sample (MaxRowsPerApp) and
// the traffic mix.
type LogitStacker struct {
	A [][]float64 `json:"a"` // members × classes
	B []float64   `json:"b"` // classes
	// L2 pulls A toward the starting weights and B toward 0.
	L2    float64 `json:"l2"`
	Iters int     `json:"iters"`
}

// fitLogitStacker fits the stacker to member probabilities (one N × k matrix
// per member) with class-balanced log loss (each class weighs the same in
// total, as in macro-F1), by full-batch Adam from A = w0 (the grid
// stacker's weights), B = 0.
func fitLogitStacker(probs [][]float32, labels []int, k int, w0 []float64, l2 float64, iters int) *LogitStacker {
	m, n := len(probs), len(labels)
	s := &LogitStacker{A: make([][]float64, m), B: make([]float64, k), L2: l2, Iters: iters}
	a0 := make([]float64, m)
	for j := range m {
		a0[j] = w0[j]
		if a0[j] == 0 {
			a0[j] = 0.05
		}
		s.A[j] = make([]float64, k)
		for c := range s.A[j] {
			s.A[j][c] = a0[j]
		}
	}
	count := make([]float64, k)
	for _, y := range labels {
		count[y]++
	}
	rw := make([]float64, k) // row weight of a class's rows: n/(k_present·n_c)
	present := 0
	for _, c := range count {
		if c > 0 {
			present++
		}
	}
	for c := range rw {
		if count[c] > 0 {
			rw[c] = float64(n) / (float64(present) * count[c])
		}
	}
	logs := make([][]float64, m)
	for j, p := range probs {
		logs[j] = make([]float64, len(p))
		for i, v := range p {
			logs[j][i] = math.Log(math.Max(float64(v), logFloor))
		}
	}
	// Adam state: A then B, flattened.
	np := m*k + k
	g := make([]float64, np)
	mom := make([]float64, np)
	vel := make([]float64, np)
	const lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
	z := make([]float64, k)
	for it := 1; it <= iters; it++ {
		clear(g)
		for i := range n {
			base := i * k
			mx := math.Inf(-1)
			for c := range k {
				v := s.B[c]
				for j := range m {
					v += s.A[j][c] * logs[j][base+c]
				}
				z[c] = v
				mx = math.Max(mx, v)
			}
			var sum float64
			for c := range k {
				z[c] = math.Exp(z[c] - mx)
				sum += z[c]
			}
			w := rw[labels[i]] / float64(n)
			for c := range k {
				d := z[c] / sum
				if c == labels[i] {
					d--
				}
				d *= w
				if d == 0 {
					continue
				}
				for j := range m {
					g[j*k+c] += d * logs[j][base+c]
				}
				g[m*k+c] += d
			}
		}
		for j := range m {
			for c := range k {
				g[j*k+c] += l2 * (s.A[j][c] - a0[j])
			}
		}
		for c := range k {
			g[m*k+c] += l2 * s.B[c]
		}
		c1 := 1 - math.Pow(b1, float64(it))
		c2 := 1 - math.Pow(b2, float64(it))
		for p := range np {
			mom[p] = b1*mom[p] + (1-b1)*g[p]
			vel[p] = b2*vel[p] + (1-b2)*g[p]*g[p]
			step := lr * (mom[p] / c1) / (math.Sqrt(vel[p]/c2) + eps)
			if p < m*k {
				s.A[p/k][p%k] -= step
			} else {
				s.B[p-m*k] -= step
			}
		}
	}
	return s
}

// combine writes the stacker's class probabilities of probs into dst.
func (s *LogitStacker) combine(probs [][]float32, k int, dst []float32) {
	z := make([]float64, k)
	for r := 0; r < len(dst); r += k {
		mx := math.Inf(-1)
		for c := range k {
			v := s.B[c]
			for j, p := range probs {
				v += s.A[j][c] * math.Log(math.Max(float64(p[r+c]), logFloor))
			}
			z[c] = v
			mx = math.Max(mx, v)
		}
		var sum float64
		for c := range k {
			z[c] = math.Exp(z[c] - mx)
			sum += z[c]
		}
		for c := range k {
			dst[r+c] = float32(z[c] / sum)
		}
	}
}

// crossFitLogit estimates the stacker's macro-F1 on rows it did not see:
// two halves of the validation rows (a seeded split), each scored by a
// stacker fitted on the other. It returns the macro-F1 over all rows of
// those out-of-fold predictions, and of the grid weights w0 with pool on
// the same rows.
func crossFitLogit(probs [][]float32, labels []int, k int, w0 []float64, pool string, l2 float64, iters int, seed uint64) (logit, grid float64) {
	n := len(labels)
	rng := rand.New(rand.NewPCG(seed, 0x57ac))
	fold := make([]int, n)
	for i := range fold {
		fold[i] = rng.IntN(2)
	}
	pred := make([]int, n)
	for f := range 2 {
		var fitIdx, outIdx []int
		for i, v := range fold {
			if v == f {
				outIdx = append(outIdx, i)
			} else {
				fitIdx = append(fitIdx, i)
			}
		}
		st := fitLogitStacker(subsetProbs(probs, fitIdx, k), subsetInts(labels, fitIdx), k, w0, l2, iters)
		out := subsetProbs(probs, outIdx, k)
		dst := make([]float32, len(outIdx)*k)
		st.combine(out, k, dst)
		for j, p := range argmaxRows(dst, k) {
			pred[outIdx[j]] = p
		}
	}
	logit = macroF1(pred, labels, k)
	dst := make([]float32, n*k)
	combine(probs, w0, pool, k, dst)
	grid = macroF1(argmaxRows(dst, k), labels, k)
	return logit, grid
}

func subsetProbs(probs [][]float32, idx []int, k int) [][]float32 {
	out := make([][]float32, len(probs))
	for j, p := range probs {
		out[j] = make([]float32, 0, len(idx)*k)
		for _, i := range idx {
			out[j] = append(out[j], p[i*k:(i+1)*k]...)
		}
	}
	return out
}

func subsetInts(v []int, idx []int) []int {
	out := make([]int, len(idx))
	for j, i := range idx {
		out[j] = v[i]
	}
	return out
}
