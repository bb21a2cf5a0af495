package snark_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/snark"
)

// TestFashionMNISTRoot recomputes the compiled-in data-set root from the
// installed Fashion-MNIST files.
func TestFashionMNISTRoot(t *testing.T) {
	train, _, err := dataset.Load(dataset.DefaultDir)
	if err != nil {
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
	tree, err := snark.NewDataTree(train)
	require.NoError(t, err)
	want := snark.FashionMNISTPoseidon2Root()
	got := tree.Root()
	require.True(t, want.Equal(&got), "root %x", got.Bytes())
}
