package seqnet

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemm (packed kernel where the CPU has one) and gemmGonum agree with
// blas32.Gemm on shapes around the tile and block sizes, for every
// transpose, and gemm allocates nothing.
func TestGemmMatchesBLAS(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, alpha := range []float32{1, 1.5} {
		for _, s := range [][3]int{{1, 1, 1}, {63, 65, 7}, {200, 64, 33}, {700, 129, 70}, {130, 400, 5}, {7680, 32, 160}, {100, 40, 1000}, {13, 181, 390}} {
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
					blas32.Gemm(tA, tB, alpha, a, b, 0.5, want)
					allocs := testing.AllocsPerRun(1, func() {
						copy(got.Data, c0)
						gemm(tA, tB, alpha, a, b, 0.5, got)
					})
					fallback := blas32.General{Rows: m, Cols: n, Stride: n, Data: append([]float32(nil), c0...)}
					gemmGonum(tA, tB, alpha, a, b, 0.5, fallback)
					for _, g := range []blas32.General{got, fallback} {
						for i := range want.Data {
							if d := math.Abs(float64(want.Data[i] - g.Data[i])); d > 1e-3*(1+math.Abs(float64(want.Data[i]))) {
								t.Fatalf("alpha %v, %v %v %dx%dx%d: c[%d] = %v, want %v", alpha, tA, tB, m, n, k, i, g.Data[i], want.Data[i])
							}
						}
					}
					if allocs > 0 {
						t.Errorf("%v %v %dx%dx%d: %v allocations", tA, tB, m, n, k, allocs)
					}
				}
			}
		}
	}
}

// The micro-kernel of this build agrees with kernelGo, with a row stride
// wider than the tile.
func TestKernelMatchesGo(t *testing.T) {
	if !haveKernel {
		t.Skip("no micro-kernel on this build; gemm runs gonum's (checked by TestGemmMatchesBLAS)")
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for _, k := range []int{0, 1, 7, 384} {
		a, b := make([]float32, k*mr+1), make([]float32, k*nr+1)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		const ldc = nr + 3
		want := make([]float32, mr*ldc)
		for i := range want {
			want[i] = float32(i)
		}
		got := append([]float32(nil), want...)
		kernelGo(k, a, b, want, ldc)
		kernel(k, &a[0], 1, mr, &b[0], &got[0], ldc)
		for i := range want {
			if d := math.Abs(float64(want[i] - got[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("k=%d: c[%d] = %v, want %v", k, i, got[i], want[i])
			}
		}
	}
}
