package bench

import (
	"context"
	"fmt"
	"runtime"

	"github.com/seed46f70faa/trainproof/commit"
)

// rowHashing: bytes of matrix rows hashed per second on one core, protocol
// v1's SHA-256 leaves (crypto/sha256, SHA-NI where the CPU has it) beside
// v2's BLAKE3 leaves through commit.HashRows (its lane kernel named) and
// through commit.RowHasher (lukechampine.com/blake3 one row at a time), on
// the same 64-row matrices in one run.
func rowHashing(ctx context.Context, r *Report, cfg Config) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const rows = 64
	reps := pick(cfg.Quick, 5, 9)
	iters := pick(cfg.Quick, 20, 50)
	prefix := commit.LeafPrefix(make([]byte, 20+32+8+2+1+4+4))
	key := commit.RowKey(prefix[1:])
	kernel := commit.HashRowsKernel()
	t := Table{Title: "Row hashing, one core (GB/s of rows; protocol v1 SHA-256 against v2 BLAKE3)",
		Header:  []string{"row bytes", "v1 SHA-256", "v2 HashRows (" + kernel + ")", "v2 RowHasher (library)", "HashRows / SHA-256"},
		Command: "bench --out DIR (row hashing); go test -run '^$' -bench Leaf -cpu 1 ./commit/"}
	for _, n := range []int{784, 4096, 16384, 65536} {
		data := make([]byte, rows*n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		out := make([]commit.Hash, rows)
		h := commit.NewRowHasher(&key)
		rate := func(f func()) []float64 {
			return measure(1, reps, func(int) float64 {
				return float64(iters*rows*n) / seconds(func() {
					for range iters {
						f()
					}
				}) / 1e9
			})
		}
		v1 := rate(func() {
			for i := range out {
				out[i] = commit.Leaf(prefix, uint32(i), data[i*n:(i+1)*n])
			}
		})
		v2 := rate(func() { commit.HashRows(&key, data, n, out) })
		lib := rate(func() {
			for i := range out {
				out[i] = h.Sum(data[i*n : (i+1)*n])
			}
		})
		r.add("row hashing v1 sha256", "GB/s", "row bytes", float64(n), v1)
		r.add("row hashing v2 blake3", "GB/s", "row bytes", float64(n), v2)
		m1, _, _ := stats(v1)
		m2, _, _ := stats(v2)
		t.Rows = append(t.Rows, []string{fmt.Sprint(n), rates(v1), rates(v2), rates(lib), fmt.Sprintf("%.1f×", m2/m1)})
	}
	r.Tables = append(r.Tables, t)
	return nil
}

// rates formats GB/s samples as median (min–max).
func rates(v []float64) string {
	m, lo, hi := stats(v)
	return fmt.Sprintf("%.2f (%.2f–%.2f)", m, lo, hi)
}
