// Package testutil holds what the test suites share: random matrices that
// hit the extreme values often.
package testutil

import (
	"math/rand/v2"

	"github.com/seed46f70faa/trainproof/tensor"
)

// RandInt8 returns a rows×cols matrix of random int8 values, a quarter of
// them the extremes −128 and 127.
func RandInt8(rng *rand.Rand, rows, cols int) *tensor.Int8 {
	m := tensor.NewInt8(rows, cols)
	for i := range m.Data {
		switch rng.IntN(8) {
		case 0:
			m.Data[i] = -128
		case 1:
			m.Data[i] = 127
		default:
			m.Data[i] = int8(rng.IntN(256) - 128)
		}
	}
	return m
}
