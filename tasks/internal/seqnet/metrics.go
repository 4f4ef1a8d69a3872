package seqnet

import "math"

// argmax returns the index of the largest of p's k-wide row r.
func argmax(p []float32, r, k int) int {
	row := p[r*k : (r+1)*k]
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}

// MacroF1 returns the unweighted mean F1 over the classes that occur in labels
// or in the predictions (argmax of probs, N × k).
func MacroF1(probs []float32, labels []int, k int) float64 {
	tp := make([]float64, k)
	fp := make([]float64, k)
	fn := make([]float64, k)
	for i, y := range labels {
		p := argmax(probs, i, k)
		if p == y {
			tp[y]++
		} else {
			fp[p]++
			fn[y]++
		}
	}
	var sum float64
	var n int
	for c := range k {
		if tp[c]+fp[c]+fn[c] == 0 {
			continue
		}
		n++
		sum += 2 * tp[c] / (2*tp[c] + fp[c] + fn[c])
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// weightedLoss is the class-weighted mean cross-entropy of probs (N × k).
func weightedLoss(probs []float32, labels []int, k int, weights []float64) float64 {
	var sum, wsum float64
	for i, y := range labels {
		w := weights[y]
		p := math.Max(float64(probs[i*k+y]), 1e-12)
		sum -= w * math.Log(p)
		wsum += w
	}
	if wsum == 0 {
		return math.NaN()
	}
	return sum / wsum
}

// classWeights returns n/(K·n_c) per class, K the classes present, capped at
// maxWeight; absent classes get 1.
func classWeights(labels []int, k int, maxWeight float64) []float64 {
	counts := make([]float64, k)
	for _, y := range labels {
		counts[y]++
	}
	present := 0
	for _, c := range counts {
		if c > 0 {
			present++
		}
	}
	w := make([]float64, k)
	for c, n := range counts {
		if n == 0 {
			w[c] = 1
			continue
		}
		w[c] = min(float64(len(labels))/(float64(present)*n), maxWeight)
	}
	return w
}
