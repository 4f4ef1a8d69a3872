package classify

import (
	"fmt"
	"math"
)

// Pooling rules of Stacking.
const (
	PoolMean = "mean" // Σ w_m p_m
	PoolGeo  = "geo"  // exp(Σ w_m log p_m), renormalised
	// PoolLogit is the learned stacker (Stacking.Logit): per-class member
	// weights and biases on log probabilities, fitted on validation.
	PoolLogit = "logit"
)

// Stacking combines member probabilities with fixed weights.
type Stacking struct {
	Members []string  `json:"members"` // member kinds, in bundle order
	Weights []float64 `json:"weights"` // sum 1
	Pool    string    `json:"pool"`
	// Fallback names the single member used when no combination beat it on
	// validation ("" when the ensemble combines members).
	Fallback string `json:"fallback,omitempty"`
	// Validation macro-F1 of the chosen combination and of each member.
	ValMacroF1       float64   `json:"val_macro_f1"`
	MemberValMacroF1 []float64 `json:"member_val_macro_f1"`
	GridStep         float64   `json:"grid_step"`
	// Logit is the learned stacker when Pool is PoolLogit; GridMacroF1 is
	// then the grid combination's validation macro-F1 on the same rows as
	// ValMacroF1 (cross-fitted; see FitLogit).
	Logit       *LogitStacker `json:"logit,omitempty"`
	GridMacroF1 float64       `json:"grid_macro_f1,omitempty"`
}

// Default settings of the learned stacker.
const (
	logitL2    = 0.01
	logitIters = 150
)

// FitLogit tries the learned stacker on top of the grid choice: it is kept
// when its cross-fitted validation macro-F1 (two halves, each scored by a
// stacker fitted on the other) beats the grid combination's on the same
// rows, and then refitted on all validation rows. ValMacroF1 becomes the
// cross-fitted figure, an honest estimate.
func (s *Stacking) FitLogit(probs [][]float32, labels []int, k int, seed uint64) {
	o := logitOptions{L2: logitL2, Iters: logitIters, Folds: 2}
	logit, grid := crossFitLogit(probs, labels, k, s.Weights, s.Pool, o, seed)
	if logit <= grid {
		return
	}
	s.Logit = fitLogitStacker(probs, labels, k, s.Weights, o)
	s.Pool, s.Fallback = PoolLogit, ""
	s.GridMacroF1, s.ValMacroF1 = grid, logit
}

// FitStacking chooses the weights (a grid of the given step on the simplex)
// and pooling rule that maximise macro-F1 of probs (one N × k matrix per
// member) against labels. Single members are candidates, so the result is
// never below the best member; ties go to fewer members, then to the
// arithmetic mean.
func FitStacking(members []string, probs [][]float32, labels []int, k int, step float64) (Stacking, error) {
	m := len(members)
	if m == 0 || len(probs) != m {
		return Stacking{}, fmt.Errorf("classify: stacking: %d members, %d probability matrices", m, len(probs))
	}
	for i, p := range probs {
		if len(p) != len(labels)*k {
			return Stacking{}, fmt.Errorf("classify: stacking: member %s has %d values for %d rows × %d classes", members[i], len(p), len(labels), k)
		}
	}
	if step <= 0 || step > 1 {
		step = 0.05
	}
	steps := int(math.Round(1 / step))
	s := Stacking{Members: members, GridStep: 1 / float64(steps), MemberValMacroF1: make([]float64, m)}
	best := math.Inf(-1)
	bestUsed := m + 1
	// Only the argmax matters here: geometric pooling ranks classes by
	// Σ w log p, so the logs are taken once and no candidate normalises.
	logs := make([][]float32, m)
	for j, p := range probs {
		logs[j] = make([]float32, len(p))
		for i, v := range p {
			logs[j][i] = float32(math.Log(math.Max(float64(v), logFloor)))
		}
	}
	pred := make([]int, len(labels))
	for _, w := range simplexGrid(m, steps) {
		used := 0
		for _, v := range w {
			if v > 0 {
				used++
			}
		}
		for _, pool := range []string{PoolMean, PoolGeo} {
			if used == 1 && pool == PoolGeo {
				continue // the same as PoolMean
			}
			src := probs
			if pool == PoolGeo {
				src = logs
			}
			argmaxWeighted(src, w, k, pred)
			f1 := macroF1(pred, labels, k)
			if used == 1 {
				for i, v := range w {
					if v > 0 {
						s.MemberValMacroF1[i] = f1
					}
				}
			}
			if f1 > best || (f1 == best && used < bestUsed) {
				best, bestUsed = f1, used
				s.Weights, s.Pool = w, pool
			}
		}
	}
	s.ValMacroF1 = best
	s.Fallback = ""
	if bestUsed == 1 {
		for i, v := range s.Weights {
			if v > 0 {
				s.Fallback = members[i]
			}
		}
	}
	return s, nil
}

// argmaxWeighted writes the argmax of Σ w_m x_m for each row into pred.
func argmaxWeighted(x [][]float32, w []float64, k int, pred []int) {
	row := make([]float32, k)
	for r := range pred {
		clear(row)
		for m, xm := range x {
			if w[m] == 0 {
				continue
			}
			wm := float32(w[m])
			for c, v := range xm[r*k : (r+1)*k] {
				row[c] += wm * v
			}
		}
		best := 0
		for c, v := range row {
			if v > row[best] {
				best = c
			}
		}
		pred[r] = best
	}
}

// simplexGrid lists the weight vectors of m non-negative multiples of
// 1/steps that sum to 1.
func simplexGrid(m, steps int) [][]float64 {
	var out [][]float64
	cur := make([]int, m)
	var rec func(i, left int)
	rec = func(i, left int) {
		if i == m-1 {
			cur[i] = left
			w := make([]float64, m)
			for j, c := range cur {
				w[j] = float64(c) / float64(steps)
			}
			out = append(out, w)
			return
		}
		for c := left; c >= 0; c-- {
			cur[i] = c
			rec(i+1, left-c)
		}
	}
	rec(0, steps)
	return out
}

// Combine pools member probabilities into dst (N × k; allocated when nil).
func (s Stacking) Combine(probs [][]float32, k int, dst []float32) ([]float32, error) {
	if len(probs) != len(s.Weights) {
		return nil, fmt.Errorf("classify: stacking: %d member outputs for %d weights", len(probs), len(s.Weights))
	}
	n := len(probs[0])
	for _, p := range probs {
		if len(p) != n {
			return nil, fmt.Errorf("classify: stacking: member outputs differ in size")
		}
	}
	if dst == nil {
		dst = make([]float32, n)
	}
	if s.Pool == PoolLogit {
		if s.Logit == nil || len(s.Logit.A) != len(probs) || len(s.Logit.B) != k || !s.Logit.gateFits(len(probs)) {
			return nil, fmt.Errorf("classify: stacking: logit pool without a stacker of %d members × %d classes", len(probs), k)
		}
		s.Logit.combine(probs, k, dst)
		return dst, nil
	}
	combine(probs, s.Weights, s.Pool, k, dst)
	return dst, nil
}

const logFloor = 1e-7

func combine(probs [][]float32, w []float64, pool string, k int, dst []float32) {
	n := len(dst)
	if pool != PoolGeo {
		clear(dst)
		for m, p := range probs {
			if w[m] == 0 {
				continue
			}
			wm := float32(w[m])
			for i := 0; i < n; i++ {
				dst[i] += wm * p[i]
			}
		}
		return
	}
	for r := 0; r < n; r += k {
		var sum float64
		for c := range k {
			var z float64
			for m, p := range probs {
				if w[m] > 0 {
					z += w[m] * math.Log(math.Max(float64(p[r+c]), logFloor))
				}
			}
			e := math.Exp(z)
			dst[r+c] = float32(e)
			sum += e
		}
		for c := range k {
			dst[r+c] = float32(float64(dst[r+c]) / sum)
		}
	}
}
