//go:build onednn && cgo

package bench

import (
	"runtime"

	"github.com/seed46f70faa/trainproof/matmul/onednn"
	"github.com/seed46f70faa/trainproof/tensor"
)

// oneDNNGEMM is oneDNN's bare dnnl_gemm_s8s8s32 on every core, or nil
// when this build has no oneDNN.
var oneDNNGEMM = func(a, b *tensor.Int8, c *tensor.Int32) error {
	onednn.SetThreads(runtime.GOMAXPROCS(0))
	return onednn.GEMM(a, b, c)
}

func oneDNNStatus() string { return "built in (dnnl_gemm_s8s8s32, libdnnl, all cores)" }
