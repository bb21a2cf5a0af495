package verifier_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/verifier"
)

// TestVerifyFiles: files given out of order are verified in step order; a
// damaged file, a replayed matmul unit and a file that is no bundle are
// reported, the rest accepted; an unreadable path stops the run.
func TestVerifyFiles(t *testing.T) {
	dir := t.TempDir()
	task, _ := minerRun(dir, 4)
	unit := matmulTask(32, 16, 24, 8, protocol.ModeFiatShamir)
	_, enc := prove(t, matmulStep(t, unit), bundle.Sampled, newKey(t), [32]byte{})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "unit.tpb"), enc, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "unit-again.tpb"), enc, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.tpb"), []byte("not a bundle"), 0o644))
	paths := []string{"step-000003.tpb", "junk.tpb", "unit.tpb", "step-000001.tpb", "step-000000.tpb", "unit-again.tpb", "step-000002.tpb"}
	for i := range paths {
		paths[i] = filepath.Join(dir, paths[i])
	}
	root := task.DatasetRoot
	l := verifier.NewLedger(verifier.Options{Tasks: []commit.Hash{task.ID(), unit.ID()}, DatasetRoot: &root})
	var steps []uint64
	var rejected []string
	require.NoError(t, verifier.VerifyFiles(l, paths, 0, func(f verifier.FileResult) {
		if f.Err != nil {
			rejected = append(rejected, filepath.Base(f.Path))
			if filepath.Base(f.Path) == "unit-again.tpb" {
				require.ErrorIs(t, f.Err, verifier.ErrReplay)
			}
			return
		}
		if f.Result.Work == protocol.WorkTrain {
			steps = append(steps, f.Result.Step)
		}
	}))
	require.Equal(t, []uint64{0, 1, 2, 3}, steps)
	require.ElementsMatch(t, []string{"junk.tpb", "unit-again.tpb"}, rejected)
	chains := l.Chains()
	require.Len(t, chains, 1)
	require.Equal(t, uint64(4), chains[0].Next)

	err := verifier.VerifyFiles(l, []string{filepath.Join(dir, "missing.tpb")}, 0, func(verifier.FileResult) {})
	require.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
}
