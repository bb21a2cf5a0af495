package commit

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func leaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = Leaf([]byte{tagLeaf, 'x'}, uint32(i), []byte(fmt.Sprint("row", i)))
	}
	return out
}

// naiveRoot is the obvious recursive definition over the padded leaves.
func naiveRoot(l []Hash) Hash {
	if len(l) == 1 {
		return l[0]
	}
	return Node(naiveRoot(l[:len(l)/2]), naiveRoot(l[len(l)/2:]))
}

func TestRootAndPaths(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100} {
		ls := leaves(n)
		tr, err := New(append([]Hash(nil), ls...))
		require.NoError(t, err)
		padded := append([]Hash(nil), ls...)
		for len(padded) < 1<<Depth(n) {
			padded = append(padded, Empty)
		}
		require.Equal(t, naiveRoot(padded), tr.Root(), "n=%d", n)
		for i := 0; i < n; i++ {
			p := tr.Path(i)
			require.Len(t, p, Depth(n))
			require.NoError(t, Verify(tr.Root(), ls[i], i, n, p), "n=%d i=%d", n, i)
			// The same leaf at another index, a flipped sibling, or a short path fail.
			if n > 1 {
				require.ErrorIs(t, Verify(tr.Root(), ls[i], (i+1)%n, n, p), ErrPath)
				bad := append([]Hash(nil), p...)
				bad[0][0] ^= 1
				require.ErrorIs(t, Verify(tr.Root(), ls[i], i, n, bad), ErrPath)
				require.ErrorIs(t, Verify(tr.Root(), ls[i], i, n, p[1:]), ErrPath)
			}
		}
		require.ErrorIs(t, Verify(tr.Root(), ls[0], n, n, tr.Path(0)), ErrPath)
		require.ErrorIs(t, Verify(tr.Root(), ls[0], -1, n, tr.Path(0)), ErrPath)
	}
}

func TestDomainSeparation(t *testing.T) {
	// A leaf is never a node: the tags differ.
	l, r := leaves(2)[0], leaves(2)[1]
	var cat []byte
	cat = append(cat, l[:]...)
	cat = append(cat, r[:]...)
	require.NotEqual(t, Node(l, r), sha256.Sum256(cat))
	require.NotEqual(t, Leaf([]byte{tagLeaf}, 0, []byte("a")), Leaf([]byte{tagLeaf}, 1, []byte("a")))
	_, err := New(nil)
	require.Error(t, err)
}

func TestDepth(t *testing.T) {
	for n, d := range map[int]int{1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 60000: 16, 65536: 16, 65537: 17} {
		require.Equal(t, d, Depth(n), "n=%d", n)
	}
}

func BenchmarkTree(b *testing.B) {
	ls := leaves(1 << 12)
	b.SetBytes(int64(len(ls) * 32))
	for b.Loop() {
		if _, err := New(ls); err != nil {
			b.Fatal(err)
		}
	}
}
