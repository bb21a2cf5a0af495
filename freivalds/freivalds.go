// Package freivalds checks exact integer matrix products in F_p (p = 2^61 − 1)
// with Freivalds' algorithm: for C = A·B and a uniform r ∈ F_p^n, compute
// q = B·r and check A·q = C·r. A wrong C passes with probability at most 1/p
// per vector; the check reads A, B and C once, O(mk + kn + mn) instead of the
// O(mkn) of recomputing the product.
//
// The vector must be drawn after C is fixed (a predictable r lets a cheat
// pass); package protocol derives it from the commitment.
package freivalds

import (
	"fmt"
	"sync"

	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/internal/par"
	"github.com/seed46f70faa/trainproof/tensor"
)

// Check reports whether a·b = c holds on the projection r (len(r) = c.Cols),
// and the first row i where A_i·(B·r) ≠ C_i·r, or −1.
func Check(a, b *tensor.Int8, c *tensor.Int32, r []field.Elem) (ok bool, row int, err error) {
	if a.Cols != b.Rows || c.Rows != a.Rows || c.Cols != b.Cols || len(r) != c.Cols {
		return false, -1, fmt.Errorf("freivalds: shapes %d×%d · %d×%d → %d×%d with |r| = %d", a.Rows, a.Cols, b.Rows, b.Cols, c.Rows, c.Cols, len(r))
	}
	q := make([]field.Elem, b.Rows)
	par.Range(b.Rows, workers(b.Rows), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			q[j] = field.DotInt8(b.Row(j), r)
		}
	})
	var mu sync.Mutex
	first := -1
	par.Range(a.Rows, workers(a.Rows), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if field.DotInt8(a.Row(i), q) != field.DotInt32(c.Row(i), r) {
				mu.Lock()
				if first < 0 || i < first {
					first = i
				}
				mu.Unlock()
				return
			}
		}
	})
	return first < 0, first, nil
}

func workers(n int) int {
	if n < 256 {
		return 1
	}
	return 0
}
