package commit

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	zeebo "github.com/zeebo/blake3"
)

// oracleLeaf is RowLeaf by another BLAKE3 implementation (github.com/zeebo/blake3).
func oracleLeaf(t testing.TB, key *[32]byte, data []byte) Hash {
	h, err := zeebo.NewKeyed(key[:])
	require.NoError(t, err)
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// rowLengths are the lengths every row hasher is checked at: chunk, block
// and group boundaries, several levels of BLAKE3's tree.
func rowLengths() []int {
	ls := []int{0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 2049, 3072, 8192, 15360, 16383, 16384, 16385,
		17408, 32767, 32768, 32769, 49152, 65536, 65537, 81920, 16384*7 + 1000, 16384 * 8, 16384*9 + 1}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		ls = append(ls, rng.IntN(200_000))
	}
	return ls
}

// TestRowLeafOracle: RowLeaf equals a reference BLAKE3 keyed hash at every
// length (random keys and data, fixed seed).
func TestRowLeafOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range rowLengths() {
		var key [32]byte
		for i := range key {
			key[i] = byte(rng.Uint32())
		}
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		want := oracleLeaf(t, &key, data)
		require.Equal(t, want, RowLeaf(&key, data), "len %d", n)
		h := NewRowHasher(&key)
		require.Equal(t, want, h.Sum(data), "len %d, reused hasher", n)
	}
}

// TestRowKey: derive_key with the protocol's context, as any BLAKE3 computes it.
func TestRowKey(t *testing.T) {
	domain := []byte("trainproof/v1/matrix example domain")
	var want [32]byte
	zeebo.DeriveKey(RowKeyContext, domain, want[:])
	require.Equal(t, want, RowKey(domain))
	require.NotEqual(t, RowKey(domain), RowKey(append(domain, 0)))
}

// TestRowLeafVector pins one leaf (docs/PROTOCOL.md §3 quotes it): key =
// RowKey("trainproof/v1/matrix"), data = bytes 0, 1, …, 250, 0, 1, … (2000 bytes).
func TestRowLeafVector(t *testing.T) {
	key := RowKey([]byte("trainproof/v1/matrix"))
	data := make([]byte, 2000)
	for i := range data {
		data[i] = byte(i % 251)
	}
	require.Equal(t, "e83737eb6e0cbcc84b6ce44a90e9621952cff673a5fa2940527878a7dfbe439f", hex.EncodeToString(key[:]))
	leaf := RowLeaf(&key, data)
	require.Equal(t, "74f11cdb2296d953784c09d350b0d3ca896c7b82be3415e92ee0c16b2d1d5513", hex.EncodeToString(leaf[:]))
	require.Equal(t, oracleLeaf(t, &key, data), leaf)
}

// TestRowLeafFlip: one flipped byte in any chunk changes the leaf.
func TestRowLeafFlip(t *testing.T) {
	key := RowKey([]byte("flip"))
	data := make([]byte, 40000)
	base := RowLeaf(&key, data)
	for _, i := range []int{0, 1023, 1024, 16383, 16384, 32768, 39999} {
		data[i] ^= 0x80
		require.NotEqual(t, base, RowLeaf(&key, data), "byte %d", i)
		data[i] ^= 0x80
	}
	other := RowKey([]byte("flop"))
	require.NotEqual(t, base, RowLeaf(&other, data), "another key")
}

func TestRowHasherNoAlloc(t *testing.T) {
	key := RowKey(nil)
	h := NewRowHasher(&key)
	for _, n := range []int{100, 4096, 16384, 50000} {
		data := make([]byte, n)
		require.Zero(t, testing.AllocsPerRun(10, func() { h.Sum(data) }), "len %d", n)
	}
}

func FuzzRowLeaf(f *testing.F) {
	for _, n := range []int{0, 1, 64, 1024, 1025, 16384, 16385, 40000} {
		f.Add(make([]byte, n), byte(n))
	}
	f.Fuzz(func(t *testing.T, data []byte, k byte) {
		var key [32]byte
		for i := range key {
			key[i] = k + byte(i)
		}
		require.Equal(t, oracleLeaf(t, &key, data), RowLeaf(&key, data), "len %d", len(data))
	})
}

// BenchmarkLeaf compares the matrix row leaves of protocol v1 (SHA-256 over
// prefix ‖ row index ‖ row, crypto/sha256 with SHA-NI) and v2 (BLAKE3
// keyed) in one run: a 64-row matrix with rows of 16 KiB (4096 int32
// columns), and shorter rows, hashed on one goroutine. v2 is measured
// through HashRows with each lane kernel (avx512, avx2, go) and through
// RowHasher (lukechampine.com/blake3 alone, one row at a time). GB/s is
// bytes of rows per second of wall time; cpu-GB/s per second of the
// hashing thread's CPU time, which other jobs on a shared machine inflate
// less.
func BenchmarkLeaf(b *testing.B) {
	const rows = 64
	prefix := LeafPrefix(make([]byte, 20+32+8+2+1+4+4))
	key := RowKey(prefix[1:])
	for _, n := range []int{784, 4096, 16384, 65536} {
		data := make([]byte, rows*n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		out := make([]Hash, rows)
		bench := func(b *testing.B, f func()) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			c0, w0 := threadCPU(), time.Now()
			for b.Loop() {
				f()
			}
			c, w := threadCPU()-c0, time.Since(w0)
			bytes := float64(b.N) * float64(rows*n)
			b.ReportMetric(bytes/w.Seconds()/1e9, "GB/s")
			if c > 0 {
				b.ReportMetric(bytes/c.Seconds()/1e9, "cpu-GB/s")
			}
		}
		b.Run(fmt.Sprintf("row=%d/sha256-v1", n), func(b *testing.B) {
			bench(b, func() {
				for i := range out {
					out[i] = Leaf(prefix, uint32(i), data[i*n:(i+1)*n])
				}
			})
		})
		for _, k := range laneKernels {
			b.Run(fmt.Sprintf("row=%d/blake3-v2-%s", n, k.name), func(b *testing.B) {
				bench(b, func() { hashRowsLanes(k, &key, data, n, out) })
			})
		}
		b.Run(fmt.Sprintf("row=%d/blake3-v2-rowhasher", n), func(b *testing.B) {
			h := NewRowHasher(&key)
			bench(b, func() {
				for i := range out {
					out[i] = h.Sum(data[i*n : (i+1)*n])
				}
			})
		})
	}
}
