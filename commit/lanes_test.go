package commit

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// forKernels runs f on every lane kernel this build and machine have (the
// generated AVX-512 and AVX2 ones where the CPU runs them, and the Go one).
func forKernels(t *testing.T, f func(t *testing.T, k laneKernel)) {
	for _, k := range laneKernels {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

// TestHashRowsOracle: every kernel's leaves equal a reference BLAKE3 keyed
// hash of each row, for row lengths at chunk, block and group boundaries and
// random ones, and row counts that fill lanes exactly or leave spares.
func TestHashRowsOracle(t *testing.T) {
	forKernels(t, func(t *testing.T, k laneKernel) {
		rng := rand.New(rand.NewPCG(5, 6))
		lengths := append(rowLengths()[:30], 100, 784, 960, 4096, 4100, 5000)
		for _, n := range lengths {
			rows := []int{1, 3, 16, 17, 40}[rng.IntN(5)]
			if n > 40000 {
				rows = 1 + rng.IntN(3)
			}
			var key [32]byte
			for i := range key {
				key[i] = byte(rng.Uint32())
			}
			data := make([]byte, rows*n+rng.IntN(3)) // rows need not end the buffer
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			got := make([]Hash, rows)
			hashRowsLanes(k, &key, data, n, got)
			for i := range got {
				require.Equal(t, oracleLeaf(t, &key, data[i*n:(i+1)*n]), got[i], "kernel %s, row %d of %d, len %d", k.name, i, rows, n)
			}
		}
	})
}

// TestHashRowsBatches: more rows than one batch of chaining values holds.
func TestHashRowsBatches(t *testing.T) {
	forKernels(t, func(t *testing.T, k laneKernel) {
		key := RowKey([]byte("batches"))
		for _, n := range []int{2048, 3000, 16384, 70000} {
			rows := maxBatchChunks/((n+ChunkSize-1)/ChunkSize)*2 + 3
			data := make([]byte, rows*n)
			for i := range data {
				data[i] = byte(i * 31 >> 3)
			}
			got := make([]Hash, rows)
			hashRowsLanes(k, &key, data, n, got)
			for i := range got {
				require.Equal(t, oracleLeaf(t, &key, data[i*n:(i+1)*n]), got[i], "kernel %s row %d len %d", k.name, i, n)
			}
		}
	})
}

// TestHashRowsFlip: one flipped byte in any chunk of any row changes that
// row's leaf and no other.
func TestHashRowsFlip(t *testing.T) {
	forKernels(t, func(t *testing.T, k laneKernel) {
		key := RowKey([]byte("flip"))
		const rows, n = 5, 5000
		data := make([]byte, rows*n)
		base := make([]Hash, rows)
		hashRowsLanes(k, &key, data, n, base)
		got := make([]Hash, rows)
		for _, at := range [][2]int{{0, 0}, {1, 1023}, {2, 1024}, {3, 4095}, {4, 4999}} {
			data[at[0]*n+at[1]] ^= 1
			hashRowsLanes(k, &key, data, n, got)
			for i := range got {
				if i == at[0] {
					require.NotEqual(t, base[i], got[i], "kernel %s %v", k.name, at)
				} else {
					require.Equal(t, base[i], got[i], "kernel %s %v row %d", k.name, at, i)
				}
			}
			data[at[0]*n+at[1]] ^= 1
		}
	})
}

// TestHashRowsNoAlloc: two allocations per call at most (the kernel's
// arguments, which a call through a function value moves to the heap, and
// the chaining values of a batch of rows), none per row.
func TestHashRowsNoAlloc(t *testing.T) {
	key := RowKey(nil)
	for _, n := range []int{100, 16384} {
		data := make([]byte, 64*n)
		out := make([]Hash, 64)
		require.LessOrEqual(t, testing.AllocsPerRun(5, func() { HashRows(&key, data, n, out) }), 2.0, "len %d", n)
	}
}

func FuzzHashRows(f *testing.F) {
	f.Add(uint16(1000), uint8(3), uint64(1))
	f.Add(uint16(16384), uint8(2), uint64(2))
	f.Add(uint16(0), uint8(17), uint64(3))
	f.Fuzz(func(t *testing.T, n16 uint16, rows8 uint8, seed uint64) {
		n, rows := int(n16)%40000, int(rows8)%20+1
		rng := rand.New(rand.NewPCG(seed, 7))
		data := make([]byte, rows*n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		key := RowKey(fmt.Appendf(nil, "%d", seed))
		for _, k := range laneKernels {
			got := make([]Hash, rows)
			hashRowsLanes(k, &key, data, n, got)
			for i := range got {
				require.Equal(t, oracleLeaf(t, &key, data[i*n:(i+1)*n]), got[i], "kernel %s row %d len %d seed %d", k.name, i, n, seed)
			}
		}
	})
}
