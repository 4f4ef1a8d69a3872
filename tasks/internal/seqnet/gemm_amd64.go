//go:build amd64 && !purego

package seqnet

import "golang.org/x/sys/cpu"

// haveKernel reports whether the AVX2/FMA micro-kernel can run.
var haveKernel = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel6x16 is kernelGo in AVX2/FMA assembly on pointers: twelve 8-wide
// accumulators hold the 6×16 tile over the k-loop.
//
//go:noescape
func kernel6x16(k int, a *float32, aRow, aStep int, b, c *float32, ldc int)

func kernel(k int, a *float32, aRow, aStep int, b, c *float32, ldc int) {
	kernel6x16(k, a, aRow, aStep, b, c, ldc)
}
