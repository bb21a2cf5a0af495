//go:build !cgo

package main

import (
	"errors"

	"github.com/seed46f70faa/trainproof/matmul"
)

func emuBackend() (matmul.Backend, error) {
	return nil, errors.New("the emu backend runs the CUDA kernels through cgo: this prover was built with CGO_ENABLED=0")
}
