package commit

import (
	"math/rand/v2"
	"testing"
)

// TestVerifyMany against Verify, opening by opening: random trees, random
// sets of openings (some repeated), and one byte changed in a leaf or in
// any sibling, used or shadowed by another opening's ancestor. VerifyMany
// accepts exactly when every opening verifies alone, and when it refuses it
// names an opening that fails alone.
func TestVerifyMany(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	for trial := 0; trial < 3000; trial++ {
		n := 1 + rng.IntN(70)
		leaves := make([]Hash, n)
		for i := range leaves {
			leaves[i][0], leaves[i][1] = byte(i), byte(trial)
		}
		tree, err := New(leaves)
		if err != nil {
			t.Fatal(err)
		}
		s := 1 + rng.IntN(n+2)
		idx := make([]int, s)
		got := make([]Hash, s)
		paths := make([][]Hash, s)
		for k := range idx {
			idx[k] = rng.IntN(n)
			got[k] = leaves[idx[k]]
			paths[k] = tree.Path(idx[k])
		}
		switch rng.IntN(4) {
		case 1:
			got[rng.IntN(s)][5] ^= 1
		case 2:
			if k := rng.IntN(s); len(paths[k]) > 0 {
				p := append([]Hash(nil), paths[k]...)
				p[rng.IntN(len(p))][7] ^= 1
				paths[k] = p
			}
		case 3:
			idx[rng.IntN(s)] = rng.IntN(n + 1) // maybe out of range, maybe another leaf
		}
		want := -1
		for k := range idx {
			if Verify(tree.Root(), got[k], idx[k], n, paths[k]) != nil {
				want = k
				break
			}
		}
		k := VerifyMany(tree.Root(), n, idx, got, paths)
		if (k < 0) != (want < 0) {
			t.Fatalf("trial %d: VerifyMany %d, Verify one by one %d (n %d, idx %v)", trial, k, want, n, idx)
		}
		if k >= 0 && Verify(tree.Root(), got[k], idx[k], n, paths[k]) == nil {
			t.Fatalf("trial %d: VerifyMany names opening %d, which verifies alone", trial, k)
		}
	}
}

func BenchmarkVerifyMany(b *testing.B) {
	n, s := 256, 128
	leaves := make([]Hash, n)
	for i := range leaves {
		leaves[i][0] = byte(i)
	}
	tree, _ := New(leaves)
	rng := rand.New(rand.NewPCG(1, 1))
	perm := rng.Perm(n)[:s]
	got := make([]Hash, s)
	paths := make([][]Hash, s)
	for k, i := range perm {
		got[k], paths[k] = leaves[i], tree.Path(i)
	}
	b.Run("one-by-one", func(b *testing.B) {
		for b.Loop() {
			for k, i := range perm {
				if Verify(tree.Root(), got[k], i, n, paths[k]) != nil {
					b.Fatal("rejected")
				}
			}
		}
	})
	b.Run("many", func(b *testing.B) {
		for b.Loop() {
			if VerifyMany(tree.Root(), n, perm, got, paths) >= 0 {
				b.Fatal("rejected")
			}
		}
	})
}
