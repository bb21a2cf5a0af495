package gpu_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/train"
)

// TestTrainerEqualsCPU: a training step on the device (products, element-wise
// kernels, update) gives the CPU trainer's trace bit for bit, step after step.
func TestTrainerEqualsCPU(t *testing.T) {
	data := synth.Dataset(21)
	for _, layers := range [][]int{{24, 16}, {40}, {}} {
		cfg := model.DefaultConfig()
		cfg.Layers, cfg.Batch, cfg.GradShifts = layers, 12, nil
		for _, d := range devices(t) {
			g := gpu.New(d.dev, d.name)
			dt, err := gpu.NewTrainer(g, cfg, data)
			require.NoError(t, err)
			ct, err := train.New(cfg, data, matmul.NewCPU())
			require.NoError(t, err)
			for s := 0; s < 3; s++ {
				want, err := ct.Step(context.Background())
				require.NoError(t, err)
				got, err := dt.Step(context.Background())
				require.NoError(t, err)
				require.Equal(t, want.Index, got.Index)
				require.Equal(t, want.X.Data, got.X.Data)
				for l := range want.Z {
					require.Equal(t, want.W[l].Data, got.W[l].Data, "%s layers %v step %d W%d", d.name, layers, s, l+1)
					require.Equal(t, want.Z[l].Data, got.Z[l].Data, "Z%d", l+1)
					require.Equal(t, want.G[l].Data, got.G[l].Data, "G%d", l+1)
					require.Equal(t, want.DW[l].Data, got.DW[l].Data, "DW%d", l+1)
					require.Equal(t, want.MNext[l].Data, got.MNext[l].Data, "M%d'", l+1)
				}
				for l := range want.A {
					require.Equal(t, want.A[l].Data, got.A[l].Data, "A%d", l+1)
					require.Equal(t, want.D[l].Data, got.D[l].Data, "D%d", l+1)
				}
			}
			dt.Close()
			require.NoError(t, g.Close())
		}
	}
}
