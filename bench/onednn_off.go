//go:build !onednn || !cgo

package bench

import "github.com/seed46f70faa/trainproof/tensor"

// oneDNNGEMM is nil: this build has no oneDNN (build with -tags onednn and
// cgo where libdnnl is installed).
var oneDNNGEMM func(a, b *tensor.Int8, c *tensor.Int32) error

func oneDNNStatus() string {
	return "not built in (build cmd/bench with -tags onednn where libdnnl is installed: make deps)"
}
