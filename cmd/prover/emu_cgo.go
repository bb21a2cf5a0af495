//go:build cgo

package main

import (
	"github.com/seed46f70faa/trainproof/cgo/emu"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/matmul"
)

// emuBackend runs the CUDA kernels in the SIMT emulator (8 GiB of emulated memory).
func emuBackend() (matmul.Backend, error) { return gpu.New(emu.New(8<<30), "emu"), nil }
