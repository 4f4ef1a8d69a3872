//go:build !amd64 || purego

package seqnet

// haveKernel is false: gemm runs gonum's kernels on this build.
const haveKernel = false

func kernel(k int, a *float32, aRow, aStep int, b, c *float32, ldc int) {
	panic("seqnet: no gemm micro-kernel on this build")
}
