package verifier_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/verifier"
)

var fuzzKey = ed25519.NewKeyFromSeed(make([]byte, 32))

// resign replaces the key and signature at the end of a (mutated) bundle, as
// docs/PROTOCOL.md §6 specifies, so that mutations reach the verifier.
func resign(in []byte) []byte {
	if len(in) < 96 {
		return in
	}
	out := append([]byte(nil), in[:len(in)-96]...)
	out = append(out, fuzzKey.Public().(ed25519.PublicKey)...)
	h := sha256.New()
	h.Write([]byte("trainproof/v1/bundle"))
	h.Write(out)
	return append(out, ed25519.Sign(fuzzKey, h.Sum(nil))...)
}

// FuzzVerify: whatever a signer puts in a bundle, Verify returns an error or
// accepts; it never panics. Seeds are honest bundles of both kinds.
func FuzzVerify(f *testing.F) {
	task := matmulTask(9, 7, 5, 3, protocol.ModeFiatShamir)
	for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		_, enc := prove(f, matmulStep(f, task), v, fuzzKey, [32]byte{})
		f.Add(enc)
	}
	tf := newTrainFixture(f, 2)
	tf.key = fuzzKey
	tf.task.Train.Layers, tf.task.Train.GradShifts, tf.task.Train.Batch = []int{3}, []int{8}, 2
	for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		b := tf.run(f, synthData, 1, v, nil)[0]
		enc, err := bundle.Encode(b, fuzzKey)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	root := tf.task.DatasetRoot
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := bundle.Decode(resign(in), 4<<20)
		if err != nil {
			return
		}
		for _, m := range []verifier.Mode{verifier.Auto, verifier.Sampled} {
			verifier.Verify(b, verifier.Options{AnyTask: true, Mode: m, DatasetRoot: &root})
		}
	})
}
