package train_test

import (
	"context"
	"testing"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/train"
)

// BenchmarkStep is one training step of the default model on the CPU
// backend (forward, backward, update; no proving).
func BenchmarkStep(b *testing.B) {
	set, err := dataset.LoadSet(dataset.DefaultDir, "train")
	if err != nil {
		b.Skipf("Fashion-MNIST not installed: %v", err)
	}
	tr, err := train.New(model.DefaultConfig(), set, matmul.NewCPU())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}
