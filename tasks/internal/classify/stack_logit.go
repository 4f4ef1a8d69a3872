package classify

import (
	"fmt"
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
	// Tied: one weight per member for all classes (A's rows are constant),
	// so only the biases are per class.
	Tied bool `json:"tied,omitempty"`
	// G gates the member weights by confidence (members × members): member
	// j's weight on a row is A[j][c] + Σ_m G[j][m]·log max_c' p_m,c', so a
	// member can count more where another is unsure. Nil: no gate.
	G [][]float64 `json:"g,omitempty"`
}

// logitOptions are the learned stacker's fitting settings.
type logitOptions struct {
	L2    float64
	Iters int
	Folds int  // cross-fitting folds (crossFitLogit)
	Tied  bool // LogitStacker.Tied
	Gate  bool // fit LogitStacker.G
}

func (o logitOptions) String() string {
	s := fmt.Sprintf("l2 %g, %d iters, %d folds", o.L2, o.Iters, o.Folds)
	if o.Tied {
		s += ", tied"
	}
	if o.Gate {
		s += ", gated"
	}
	return s
}

// fitLogitStacker fits the stacker to member probabilities (one N × k matrix
// per member) with class-balanced log loss (each class weighs the same in
// total, as in macro-F1), by full-batch Adam from A = w0 (the grid
// stacker's weights), B = 0.
func fitLogitStacker(probs [][]float32, labels []int, k int, w0 []float64, o logitOptions) *LogitStacker {
	m, n := len(probs), len(labels)
	l2, iters := o.L2, o.Iters
	s := &LogitStacker{A: make([][]float64, m), B: make([]float64, k), L2: l2, Iters: iters, Tied: o.Tied}
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
	if o.Gate {
		s.G = make([][]float64, m)
		for j := range s.G {
			s.G[j] = make([]float64, m)
		}
	}
	// Adam state: A, B, then G, flattened.
	np := m*k + k + m*m*btoi(o.Gate)
	g := make([]float64, np)
	mom := make([]float64, np)
	vel := make([]float64, np)
	const lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
	z := make([]float64, k)
	u := make([]float64, m)
	gate := make([]float64, m)
	for it := 1; it <= iters; it++ {
		clear(g)
		for i := range n {
			base := i * k
			s.gates(logs, base, k, u, gate)
			mx := math.Inf(-1)
			for c := range k {
				v := s.B[c]
				for j := range m {
					v += (s.A[j][c] + gate[j]) * logs[j][base+c]
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
					dl := d * logs[j][base+c]
					g[j*k+c] += dl
					if s.G != nil {
						for jj := range m {
							g[m*k+k+j*m+jj] += dl * u[jj]
						}
					}
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
		for p := m*k + k; p < np; p++ {
			g[p] += l2 * s.G[(p-m*k-k)/m][(p-m*k-k)%m]
		}
		if o.Tied { // one gradient per member: the mean over its classes
			for j := range m {
				var sum float64
				for c := range k {
					sum += g[j*k+c]
				}
				for c := range k {
					g[j*k+c] = sum / float64(k)
				}
			}
		}
		c1 := 1 - math.Pow(b1, float64(it))
		c2 := 1 - math.Pow(b2, float64(it))
		for p := range np {
			mom[p] = b1*mom[p] + (1-b1)*g[p]
			vel[p] = b2*vel[p] + (1-b2)*g[p]*g[p]
			step := lr * (mom[p] / c1) / (math.Sqrt(vel[p]/c2) + eps)
			switch {
			case p < m*k:
				s.A[p/k][p%k] -= step
			case p < m*k+k:
				s.B[p-m*k] -= step
			default:
				s.G[(p-m*k-k)/m][(p-m*k-k)%m] -= step
			}
		}
	}
	return s
}

// gateFits reports whether G is absent or members × members.
func (s *LogitStacker) gateFits(members int) bool {
	if s.G == nil {
		return true
	}
	if len(s.G) != members {
		return false
	}
	for _, row := range s.G {
		if len(row) != members {
			return false
		}
	}
	return true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// gates writes each member's confidence u_m = log max_c p_m,c of the row at
// base (logs: log probabilities) and, with a gate, the weight shifts
// gate_j = Σ_m G[j][m]·u_m (zero without one).
func (s *LogitStacker) gates(logs [][]float64, base, k int, u, gate []float64) {
	clear(gate)
	if s.G == nil {
		return
	}
	for j, l := range logs {
		u[j] = l[base]
		for _, v := range l[base : base+k] {
			u[j] = math.Max(u[j], v)
		}
	}
	for j, row := range s.G {
		for jj, v := range row {
			gate[j] += v * u[jj]
		}
	}
}

// combine writes the stacker's class probabilities of probs into dst.
func (s *LogitStacker) combine(probs [][]float32, k int, dst []float32) {
	m := len(probs)
	z := make([]float64, k)
	logs := make([][]float64, m)
	for j := range logs {
		logs[j] = make([]float64, k)
	}
	u, gate := make([]float64, m), make([]float64, m)
	for r := 0; r < len(dst); r += k {
		for j, p := range probs {
			for c := range k {
				logs[j][c] = math.Log(math.Max(float64(p[r+c]), logFloor))
			}
		}
		s.gates(logs, 0, k, u, gate)
		mx := math.Inf(-1)
		for c := range k {
			v := s.B[c]
			for j := range m {
				v += (s.A[j][c] + gate[j]) * logs[j][c]
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
// o.Folds parts of the validation rows (a seeded split), each scored by a
// stacker fitted on the others. It returns the macro-F1 over all rows of
// those out-of-fold predictions, and of the grid weights w0 with pool on
// the same rows.
func crossFitLogit(probs [][]float32, labels []int, k int, w0 []float64, pool string, o logitOptions, seed uint64) (logit, grid float64) {
	n := len(labels)
	folds := max(o.Folds, 2)
	rng := rand.New(rand.NewPCG(seed, 0x57ac))
	fold := make([]int, n)
	for i := range fold {
		fold[i] = rng.IntN(folds)
	}
	pred := make([]int, n)
	for f := range folds {
		var fitIdx, outIdx []int
		for i, v := range fold {
			if v == f {
				outIdx = append(outIdx, i)
			} else {
				fitIdx = append(fitIdx, i)
			}
		}
		st := fitLogitStacker(subsetProbs(probs, fitIdx, k), subsetInts(labels, fitIdx), k, w0, o)
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
