package seqnet

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCNNGradients checks the plain-Go backward pass against central
// differences, and forwardTrain against the inference forward pass.
func TestCNNGradients(t *testing.T) {
	rows, y := synth(31, 6, 3, seqTask, nil)
	d := dataset(t, rows, y)
	cfg := Config{Filters: []int{4, 3}, Kernel: 3, Hidden: []int{5}}.withDefaults()
	m := &Model{cfg: cfg, classes: classNames[:3], flowDim: d.FlowDim, scalers: fitScalers(d.Batch), params: layout(cfg, d.FlowDim, 3)}
	initParams(m.params, rand.New(rand.NewPCG(1, 2)))
	for _, p := range m.params { // non-zero biases
		if len(p.shape) == 1 {
			for j := range p.data {
				p.data[j] = 0.05 * float32(j%4)
			}
		}
	}
	w := []float32{0.1, 0.2, 0.15, 0.25, 0.2, 0.1}
	n := d.Len()
	s := m.newTrainScratch(n)
	lossOf := func() float64 {
		s.in.fill(&m.scalers, cfg.Channels, d.Batch, nil, n)
		m.forwardTrain(s, n)
		var l float64
		for r := range n {
			l -= float64(w[r]) * math.Log(float64(s.probs[r*3+d.Labels[r]]))
		}
		return l
	}
	lossOf()
	want, err := m.Predict(context.Background(), d.Batch)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.probs[:n*3], want) {
		t.Errorf("forwardTrain %v, forward %v", s.probs[:n*3], want)
	}
	grads := make([][]float32, len(m.params))
	for i, p := range m.params {
		grads[i] = make([]float32, len(p.data))
	}
	m.backwardTrain(s, n, d.Labels, w, grads)
	rng := rand.New(rand.NewPCG(3, 4))
	const eps = 1e-2
	for pi, p := range m.params {
		for range 10 {
			j := rng.IntN(len(p.data))
			old := p.data[j]
			p.data[j] = old + eps
			up := lossOf()
			p.data[j] = old - eps
			down := lossOf()
			p.data[j] = old
			num := (up - down) / (2 * eps)
			if got := float64(grads[pi][j]); math.Abs(num-got) > 2e-3+0.05*math.Abs(num) {
				t.Errorf("%s[%d]: backprop %.6f, numeric %.6f", p.name, j, got, num)
			}
		}
	}
}
