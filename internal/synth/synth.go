// Package synth makes synthetic stand-ins for Fashion-MNIST, so tests that
// only need its shape (60 000 labelled 28×28 images) run without the data set.
package synth

import (
	"math/rand/v2"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/model"
)

// Dataset returns 60 000 random images whose label is a function of a few
// pixels (so a model can learn something), from seed.
func Dataset(seed uint64) *dataset.Set {
	rng := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}))
	s := &dataset.Set{N: model.TrainExamples, Rows: 28, Cols: 28,
		Images: make([]byte, model.TrainExamples*model.InputDim), Labels: make([]uint8, model.TrainExamples)}
	for i := range s.Images {
		s.Images[i] = byte(rng.Uint32())
	}
	for i := range s.Labels {
		s.Labels[i] = uint8(int(s.Image(i)[100]) * 10 / 256)
	}
	return s
}
