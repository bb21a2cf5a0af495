package matmul

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

// Path is one implementation of the CPU backend's GEMM. Every path computes
// the same bits; they differ only in speed.
type Path string

const (
	// PathVNNI is the AVX-512 VNNI micro-kernel (VPDPBUSD, 64 multiply-adds
	// per instruction), generated with avo (matmul/_asm).
	PathVNNI Path = "avx512vnni"
	// PathAVX2 is the AVX2 micro-kernel (VPMADDWD on int16 pairs) for x86
	// CPUs without VNNI.
	PathAVX2 Path = "avx2"
	// PathGo is portable Go (SWAR: two 32-bit lanes per 64-bit multiply),
	// the fallback on every other machine and with -tags purego.
	PathGo Path = "go"
)

// EnvPath names the environment variable that forces a path ("avx512vnni",
// "avx2" or "go"); NewCPU honours it, so tests and benchmarks can cover every
// path on one machine.
const EnvPath = "TRAINPROOF_GEMM"

// Paths lists the paths this machine and build can run, fastest first.
func Paths() []Path {
	var ps []Path
	if hasVNNI {
		ps = append(ps, PathVNNI)
	}
	if hasAVX2 {
		ps = append(ps, PathAVX2)
	}
	return append(ps, PathGo)
}

// NewCPUPath returns a CPU backend on a given path, or an error if this
// machine or build cannot run it.
func NewCPUPath(p Path) (*CPU, error) {
	for _, q := range Paths() {
		if q == p {
			return &CPU{path: p, workers: runtime.GOMAXPROCS(0)}, nil
		}
	}
	return nil, fmt.Errorf("matmul: GEMM path %q is not available here (available: %v)", p, Paths())
}

// Path returns the backend's GEMM path.
func (c *CPU) Path() Path { return c.path }

// SetWorkers sets how many goroutines a product may use (default GOMAXPROCS).
func (c *CPU) SetWorkers(n int) {
	if n < 1 {
		n = 1
	}
	c.workers = n
}

var simdPool = sync.Pool{New: func() any { return new(simdScratch) }}

func defaultPath() Path {
	if p := os.Getenv(EnvPath); p != "" {
		for _, q := range Paths() {
			if string(q) == p {
				return q
			}
		}
	}
	return Paths()[0]
}
