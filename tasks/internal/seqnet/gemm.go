package seqnet

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemm computes c = alpha·op(a)·op(b) + beta·c as blas32.Gemm does, on the
// calling goroutine and without allocating. gonum runs a product of four or
// more 64×64 blocks of c on new goroutines, one per block, each allocating
// (two allocations a flow at inference); so c is cut into tiles of at most
// three blocks, which gonum computes serially with the same kernel. A model's
// calls then use one core each, as SetThreads promises.
func gemm(tA, tB blas.Transpose, alpha float32, a, b blas32.General, beta float32, c blas32.General) {
	const block = 64
	nc := min(c.Cols, 3*block)
	for j := 0; j < c.Cols; j += nc {
		cols := min(nc, c.Cols-j)
		mc := block * (3 / ((cols + block - 1) / block))
		for i := 0; i < c.Rows; i += mc {
			rows := min(mc, c.Rows-i)
			var sa, sb blas32.General
			if tA == blas.NoTrans {
				sa = blas32.General{Rows: rows, Cols: a.Cols, Stride: a.Stride, Data: a.Data[i*a.Stride:]}
			} else {
				sa = blas32.General{Rows: a.Rows, Cols: rows, Stride: a.Stride, Data: a.Data[i:]}
			}
			if tB == blas.NoTrans {
				sb = blas32.General{Rows: b.Rows, Cols: cols, Stride: b.Stride, Data: b.Data[j:]}
			} else {
				sb = blas32.General{Rows: cols, Cols: b.Cols, Stride: b.Stride, Data: b.Data[j*b.Stride:]}
			}
			blas32.Gemm(tA, tB, alpha, sa, sb, beta,
				blas32.General{Rows: rows, Cols: cols, Stride: c.Stride, Data: c.Data[i*c.Stride+j:]})
		}
	}
}
