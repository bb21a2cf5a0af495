package gpu_test

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"lukechampine.com/blake3/guts"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/tensor"
)

// hashShapes cover rows of one partial chunk (odd int8 lengths, so that
// rows start unaligned), exactly one chunk, a chunk and a byte, several
// chunks, a whole 16-chunk group and deeper trees (the backend has no empty
// matrices).
var hashShapes = []struct {
	kind       tensor.Kind
	rows, cols int
}{
	{tensor.KindInt8, 1, 1}, {tensor.KindInt8, 7, 3},
	{tensor.KindInt8, 33, 1024}, {tensor.KindInt8, 9, 1025}, {tensor.KindInt8, 6, 4100},
	{tensor.KindInt32, 40, 255}, {tensor.KindInt32, 3, 256}, {tensor.KindInt32, 5, 257},
	{tensor.KindInt32, 9, 1024}, {tensor.KindInt32, 4, 4096}, {tensor.KindInt32, 3, 4097}, {tensor.KindInt32, 2, 8192 + 300},
}

// TestHashRowsEqualsCPU runs the BLAKE3 row-hash kernels
// (kernels/hash_rows.cu) and compares every leaf with the CPU backend's
// and with commit.RowLeaf; the leaves buffer is poisoned by the device, so
// an unwritten leaf cannot pass.
func TestHashRowsEqualsCPU(t *testing.T) {
	for _, d := range devices(t) {
		t.Run(d.name, func(t *testing.T) {
			g := gpu.New(d.dev, d.name)
			defer g.Close()
			cpu := matmul.NewCPU()
			rng := rand.New(rand.NewPCG(14, 14))
			for si, s := range hashShapes {
				key := commit.RowKey([]byte{byte(si)})
				var host matmul.Buffer
				var dev matmul.Buffer
				var rowBytes func(i int) []byte
				var err error
				if s.kind == tensor.KindInt8 {
					m := randInt8(rng, s.rows, s.cols)
					host = cpu.WrapInt8(m)
					dev, err = g.UploadInt8(m)
					rowBytes = func(i int) []byte { return tensor.Int8Bytes(nil, m.Row(i)) }
				} else {
					m := tensor.NewInt32(s.rows, s.cols)
					for i := range m.Data {
						m.Data[i] = int32(rng.Uint32())
					}
					host = cpu.WrapInt32(m)
					dev, err = g.UploadInt32(m)
					rowBytes = func(i int) []byte { return tensor.Int32Bytes(nil, m.Row(i)) }
				}
				require.NoError(t, err)
				want, got := make([][32]byte, s.rows), make([][32]byte, s.rows)
				require.NoError(t, cpu.HashRows(context.Background(), host, key, want))
				require.NoError(t, g.HashRows(context.Background(), dev, key, got))
				require.Equal(t, want, got, "%v %d×%d", s.kind, s.rows, s.cols)
				for i := range want {
					require.Equal(t, commit.RowLeaf(&key, rowBytes(i)), got[i], "%v %d×%d row %d", s.kind, s.rows, s.cols, i)
				}
				require.NoError(t, g.Free(dev))
			}
		})
	}
}

// TestFusedRowHashesGPU: a product with RowHashes hashes C as HashRows does.
func TestFusedRowHashesGPU(t *testing.T) {
	for _, d := range devices(t) {
		t.Run(d.name, func(t *testing.T) {
			g := gpu.New(d.dev, d.name)
			defer g.Close()
			cpu := matmul.NewCPU()
			rng := rand.New(rand.NewPCG(15, 15))
			m, k, n := 5, 40, 300 // int32 rows of 1200 bytes: two chunks
			a, b := randInt8(rng, m, k), randInt8(rng, k, n)
			key := commit.RowKey([]byte("fused"))
			c := tensor.NewInt32(m, n)
			want := make([][32]byte, m)
			require.NoError(t, cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c), RowHashes: want, HashKey: key}}))
			da, _ := g.UploadInt8(a)
			db, _ := g.UploadInt8(b)
			dc, err := g.Alloc(tensor.KindInt32, m, n)
			require.NoError(t, err)
			got := make([][32]byte, m)
			require.NoError(t, g.MatMul(context.Background(), []matmul.Product{{A: da, B: db, C: dc, RowHashes: got, HashKey: key}}))
			require.Equal(t, want, got)
			for _, x := range []matmul.Buffer{da, db, dc} {
				require.NoError(t, g.Free(x))
			}
		})
	}
}

// TestChunkKernelInterface: blake3_chunks is the interface a GEMM epilogue
// will feed (1 KiB tiles in, 32-byte chaining values out): every chunk's
// output equals a reference BLAKE3 chunk chaining value at its counter
// (lukechampine.com/blake3/guts), and a one-chunk row's is its root output.
func TestChunkKernelInterface(t *testing.T) {
	for _, d := range devices(t) {
		t.Run(d.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(16, 16))
			key := commit.RowKey([]byte("chunks"))
			var kw [8]uint32
			var ka [4]uint64
			for i := range kw {
				kw[i] = binary.LittleEndian.Uint32(key[4*i:])
			}
			for i := range ka {
				ka[i] = binary.LittleEndian.Uint64(key[8*i:])
			}
			for _, s := range [][2]int{{3, 3000}, {4, 1024}, {2, 700}} {
				rows, rowBytes := s[0], s[1]
				data := make([]byte, rows*rowBytes)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				cpr := max(1, (rowBytes+1023)/1024)
				dp, err := d.dev.Alloc(len(data))
				require.NoError(t, err)
				cp, err := d.dev.Alloc(32 * rows * cpr)
				require.NoError(t, err)
				require.NoError(t, d.dev.CopyHtoD(dp, data))
				require.NoError(t, d.dev.Launch("blake3_chunks", [3]int{1, 1, 1}, [3]int{rows * cpr, 1, 1}, 0,
					uint64(dp), uint64(rows), uint64(rowBytes), ka[0], ka[1], ka[2], ka[3], uint64(cp)))
				got := make([][8]uint32, rows*cpr)
				require.NoError(t, d.dev.CopyDtoH(unsafe.Slice((*byte)(unsafe.Pointer(&got[0])), 32*len(got)), cp))
				require.NoError(t, d.dev.Sync())
				for r := range rows {
					for j := range cpr {
						chunk := data[r*rowBytes+1024*j : r*rowBytes+min(1024*(j+1), rowBytes)]
						n := guts.CompressChunk(chunk, &kw, uint64(j), guts.FlagKeyedHash)
						if cpr == 1 {
							n.Flags |= guts.FlagRoot
							leaf := commit.RowLeaf(&key, chunk)
							require.Equal(t, leaf[:], unsafe.Slice((*byte)(unsafe.Pointer(&got[r*cpr+j][0])), 32), "row %d", r)
						}
						require.Equal(t, guts.ChainingValue(n), got[r*cpr+j], "%v row %d chunk %d", s, r, j)
					}
				}
				require.NoError(t, d.dev.Free(dp))
				require.NoError(t, d.dev.Free(cp))
			}
		})
	}
}
