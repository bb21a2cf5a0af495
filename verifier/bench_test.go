package verifier_test

import (
	"fmt"
	"testing"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/verifier"
)

// BenchmarkVerifyMatMul verifies a matmul unit's bundle: full mode (every
// root recomputed, Freivalds over all of A, B and C) and sampled mode.
// Metric: MB/s of A, B and C covered.
func BenchmarkVerifyMatMul(b *testing.B) {
	key := newKey(b)
	for _, n := range []int{1024, 2048} {
		task := matmulTask(n, n, n, 32, protocol.ModeFiatShamir)
		st := matmulStep(b, task)
		for _, v := range []bundle.Variant{bundle.Full, bundle.Sampled} {
			bd, enc := prove(b, st, v, key, [32]byte{})
			b.Run(fmt.Sprintf("%v/n=%d", v, n), func(b *testing.B) {
				b.SetBytes(int64(6 * n * n))
				b.ReportMetric(float64(len(enc)), "bundle-bytes")
				for b.Loop() {
					if _, err := verifier.Verify(bd, verifier.Options{AnyTask: true}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerifyTrainStep verifies one sampled step of the default model
// (synthetic data, same shapes and costs as Fashion-MNIST).
func BenchmarkVerifyTrainStep(b *testing.B) {
	f := newTrainFixture(b, 32)
	f.task.Train = defaultTrainConfig()
	for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		bs := f.run(b, synthData, 1, v, nil)
		b.Run(v.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := verifier.Verify(bs[0], f.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
