package seqnet

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemm agrees with blas32.Gemm on shapes around the tile sizes, for every
// transpose, and allocates nothing.
func TestGemmMatchesBLAS(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, s := range [][3]int{{1, 1, 1}, {63, 65, 7}, {200, 64, 33}, {700, 129, 70}, {130, 400, 5}, {7680, 32, 160}} {
		m, n, k := s[0], s[1], s[2]
		for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
			for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				a := blas32.General{Rows: m, Cols: k, Stride: k, Data: fill(m * k)}
				if tA == blas.Trans {
					a = blas32.General{Rows: k, Cols: m, Stride: m, Data: a.Data}
				}
				b := blas32.General{Rows: k, Cols: n, Stride: n, Data: fill(k * n)}
				if tB == blas.Trans {
					b = blas32.General{Rows: n, Cols: k, Stride: k, Data: b.Data}
				}
				c0 := fill(m * n)
				want := blas32.General{Rows: m, Cols: n, Stride: n, Data: append([]float32(nil), c0...)}
				got := blas32.General{Rows: m, Cols: n, Stride: n, Data: append([]float32(nil), c0...)}
				blas32.Gemm(tA, tB, 1.5, a, b, 0.5, want)
				allocs := testing.AllocsPerRun(1, func() {
					copy(got.Data, c0)
					gemm(tA, tB, 1.5, a, b, 0.5, got)
				})
				for i := range want.Data {
					if d := math.Abs(float64(want.Data[i] - got.Data[i])); d > 1e-3*(1+math.Abs(float64(want.Data[i]))) {
						t.Fatalf("%v %v %dx%dx%d: c[%d] = %v, want %v", tA, tB, m, n, k, i, got.Data[i], want.Data[i])
					}
				}
				if allocs > 0 {
					t.Errorf("%v %v %dx%dx%d: %v allocations", tA, tB, m, n, k, allocs)
				}
			}
		}
	}
}
