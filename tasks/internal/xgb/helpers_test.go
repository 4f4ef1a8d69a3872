package xgb

import (
	"math"
	"math/rand/v2"
	"testing"
)

// blobs returns n rows of `classes` unit Gaussian clusters in cols dimensions,
// with centres drawn with standard deviation spread (3: separable, 0.3: much
// overlap), and a fraction nanFrac of values set missing.
func blobs(seed uint64, n, classes, cols int, nanFrac, spread float64) (Matrix, []float32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([][]float64, classes)
	crng := rand.New(rand.NewPCG(42, 42)) // same centres for every seed
	for c := range centres {
		centres[c] = make([]float64, cols)
		for j := range centres[c] {
			centres[c][j] = crng.NormFloat64() * spread
		}
	}
	x := Matrix{Data: make([]float32, n*cols), Rows: n, Cols: cols}
	y := make([]float32, n)
	for i := range n {
		c := rng.IntN(classes)
		y[i] = float32(c)
		for j := range cols {
			v := float32(centres[c][j] + rng.NormFloat64())
			if rng.Float64() < nanFrac {
				v = float32(math.NaN())
			}
			x.Data[i*cols+j] = v
		}
	}
	return x, y
}

// noise returns n rows of random features with labels that do not depend on them.
func noise(seed uint64, n, classes, cols int) (Matrix, []float32) {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := Matrix{Data: make([]float32, n*cols), Rows: n, Cols: cols}
	for i := range x.Data {
		x.Data[i] = rng.Float32()
	}
	y := make([]float32, n)
	for i := range y {
		y[i] = float32(rng.IntN(classes))
	}
	return x, y
}

// dmatrix builds a DMatrix closed at the end of the test.
func dmatrix(t testing.TB, x Matrix, labels, weights []float32) *DMatrix {
	t.Helper()
	d, err := NewDMatrix(x, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if labels != nil {
		if err := d.SetLabels(labels); err != nil {
			t.Fatal(err)
		}
	}
	if weights != nil {
		if err := d.SetWeights(weights); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func accuracy(p Prediction, labels []float32) float64 {
	ok := 0
	for i, c := range p.ArgMax() {
		if float32(c) == labels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(labels))
}

// checkNoLeak fails the test if it ends with more live handles than it started.
func checkNoLeak(t *testing.T) {
	t.Helper()
	before := LiveHandles()
	t.Cleanup(func() {
		if after := LiveHandles(); after != before {
			t.Errorf("live handles: %d before the test, %d after", before, after)
		}
	})
}
