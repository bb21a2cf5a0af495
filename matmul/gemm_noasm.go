//go:build !amd64 || purego

package matmul

import "github.com/seed46f70faa/trainproof/tensor"

const (
	hasVNNI = false
	hasAVX2 = false
)

type simdScratch struct{}

func gemmVNNI(m, k, n int, a i8src, ta bool, b i8src, tb bool, c *tensor.Int32, s *simdScratch, workers int, hash *rowHasher, tm *Timing) {
	panic("matmul: no VNNI path in this build")
}

func gemmAVX2(m, k, n int, a *tensor.Int8, ta bool, b *tensor.Int8, tb bool, c *tensor.Int32, s *simdScratch, workers int) {
	panic("matmul: no AVX2 path in this build")
}
