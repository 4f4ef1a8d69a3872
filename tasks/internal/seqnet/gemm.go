package seqnet

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemm computes c = alpha·op(a)·op(b) + beta·c as blas32.Gemm does, on the
// calling goroutine and without allocating. Where the CPU has AVX2 and FMA
// (and the build is not purego) it packs op(a) and op(b) into panels and
// runs a 6×16 register-tiled micro-kernel (gemm_amd64.s), BLIS style, so
// every transpose costs the same as none; elsewhere it runs gonum's serial
// kernels (gemmGonum). Packing buffers come from a pool, so concurrent
// Predict calls stay safe.
func gemm(tA, tB blas.Transpose, alpha float32, a, b blas32.General, beta float32, c blas32.General) {
	if !haveKernel {
		gemmGonum(tA, tB, alpha, a, b, beta, c)
		return
	}
	gemmPacked(tA, tB, alpha, a, b, beta, c)
}

// Blocking of the packed product: a micro-tile of c is mr×nr; op(a) is packed
// mc rows × kc deep (L2), op(b) kc deep × all of c's columns.
const (
	mr = 6
	nr = 16
	kc = 384
	mc = 96
)

type packBufs struct {
	a, b []float32
	tile [mr * nr]float32
}

var packPool = sync.Pool{New: func() any { return &packBufs{} }}

func gemmPacked(tA, tB blas.Transpose, alpha float32, a, b blas32.General, beta float32, c blas32.General) {
	m, n := c.Rows, c.Cols
	if m == 0 || n == 0 {
		return
	}
	k := a.Cols
	if tA == blas.Trans {
		k = a.Rows
	}
	switch beta {
	case 1:
	case 0:
		for i := range m {
			clear(c.Data[i*c.Stride : i*c.Stride+n])
		}
	default:
		for i := range m {
			row := c.Data[i*c.Stride : i*c.Stride+n]
			for j := range row {
				row[j] *= beta
			}
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	bufs := packPool.Get().(*packBufs)
	defer packPool.Put(bufs)
	nPanels := (n + nr - 1) / nr
	bufs.b = grow(bufs.b, min(kc, k)*nPanels*nr)
	bufs.a = grow(bufs.a, min(kc, k)*(min(mc, m)+mr-1)/mr*mr)
	// With alpha 1 the kernel reads full 6-row panels of op(a) in place
	// (row stride and step per p); only the last, partial panel is packed.
	direct := alpha == 1
	aRow, aStep := a.Stride, 1
	if tA == blas.Trans {
		aRow, aStep = 1, a.Stride
	}
	for pc := 0; pc < k; pc += kc {
		kb := min(kc, k-pc)
		packB(bufs.b, b, tB, pc, kb, n)
		for ic := 0; ic < m; ic += mc {
			mb := min(mc, m-ic)
			if !direct {
				packA(bufs.a, a, tA, alpha, ic, mb, pc, kb)
			} else if mb%mr != 0 {
				last := mb / mr * mr
				packA(bufs.a[(last/mr)*kb*mr:], a, tA, alpha, ic+last, mb-last, pc, kb)
			}
			for jr := 0; jr < n; jr += nr {
				bp := bufs.b[(jr/nr)*kb*nr:]
				nb := min(nr, n-jr)
				for ir := 0; ir < mb; ir += mr {
					rows := min(mr, mb-ir)
					ap, ar, as := &bufs.a[(ir/mr)*kb*mr], 1, mr
					if direct && rows == mr {
						ap, ar, as = &a.Data[(ic+ir)*aRow+pc*aStep], aRow, aStep
					}
					off := (ic+ir)*c.Stride + jr
					if rows == mr && nb == nr {
						kernel(kb, ap, ar, as, &bp[0], &c.Data[off], c.Stride)
						continue
					}
					t := &bufs.tile
					clear(t[:])
					kernel(kb, ap, ar, as, &bp[0], &t[0], nr)
					for i := range rows {
						dst := c.Data[off+i*c.Stride : off+i*c.Stride+nb]
						for j := range dst {
							dst[j] += t[i*nr+j]
						}
					}
				}
			}
		}
	}
}

// packA writes alpha·op(a)[ic:ic+mb, pc:pc+kb] as panels of mr rows, each
// kb deep and row-interleaved (p·mr + i), zero-padding the last panel.
func packA(dst []float32, a blas32.General, tA blas.Transpose, alpha float32, ic, mb, pc, kb int) {
	for ir := 0; ir < mb; ir += mr {
		panel := dst[(ir/mr)*kb*mr : (ir/mr+1)*kb*mr]
		rows := min(mr, mb-ir)
		if rows < mr {
			clear(panel)
		}
		if tA == blas.NoTrans {
			for i := range rows {
				r := ic + ir + i
				for p, v := range a.Data[r*a.Stride+pc : r*a.Stride+pc+kb] {
					panel[p*mr+i] = alpha * v
				}
			}
			continue
		}
		for p := range kb {
			src := a.Data[(pc+p)*a.Stride+ic+ir : (pc+p)*a.Stride+ic+ir+rows]
			dst := panel[p*mr : p*mr+rows]
			for i, v := range src {
				dst[i] = alpha * v
			}
		}
	}
}

// packB writes op(b)[pc:pc+kb, 0:n] as panels of nr columns, each kb deep
// (p·nr + j), zero-padding the last panel.
func packB(dst []float32, b blas32.General, tB blas.Transpose, pc, kb, n int) {
	for jr := 0; jr < n; jr += nr {
		panel := dst[(jr/nr)*kb*nr : (jr/nr+1)*kb*nr]
		cols := min(nr, n-jr)
		if cols < nr {
			clear(panel)
		}
		if tB == blas.NoTrans {
			for p := range kb {
				copy(panel[p*nr:p*nr+cols], b.Data[(pc+p)*b.Stride+jr:(pc+p)*b.Stride+jr+cols])
			}
			continue
		}
		for j := range cols {
			src := b.Data[(jr+j)*b.Stride+pc : (jr+j)*b.Stride+pc+kb]
			for p, v := range src {
				panel[p*nr+j] = v
			}
		}
	}
}

// kernelGo is the micro-kernel in Go: c[i·ldc+j] += Σ_p a[p·mr+i]·b[p·nr+j]
// for the mr×nr tile. The assembly kernel computes the same; a test checks
// them against each other.
func kernelGo(k int, a, b []float32, c []float32, ldc int) {
	var acc [mr * nr]float32
	for p := range k {
		bp := b[p*nr : p*nr+nr]
		for i, av := range a[p*mr : p*mr+mr] {
			row := acc[i*nr : i*nr+nr]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := range mr {
		dst := c[i*ldc : i*ldc+nr]
		for j := range dst {
			dst[j] += acc[i*nr+j]
		}
	}
}

// gemmGonum is gemm through gonum: c is cut into tiles of at most three
// 64×64 blocks, which gonum computes serially (it runs a product of four or
// more blocks on new goroutines, one per block, each allocating), so a
// model's calls use one core each, as SetThreads promises.
func gemmGonum(tA, tB blas.Transpose, alpha float32, a, b blas32.General, beta float32, c blas32.General) {
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
