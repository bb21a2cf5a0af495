package gpu_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/cgo/emu"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/internal/testutil"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/tensor"
)

var randInt8 = testutil.RandInt8

// namedDevice is a device the kernel suite runs on (devices_test.go lists them per build).
type namedDevice struct {
	name string
	dev  gpu.Device
}

func shape(r, c int, t bool) (int, int) {
	if t {
		return c, r
	}
	return r, c
}

// TestGEMMEqualsCPU runs the tensor-core GEMM kernel (kernels/gemm_s8.cu)
// in the SIMT emulator and compares it bit for bit with the CPU backend,
// on edge shapes and every transpose combination. Outputs are poisoned
// before each launch, so an unwritten element cannot pass.
func TestGEMMEqualsCPU(t *testing.T) {
	for _, d := range devices(t) {
		t.Run(d.name, func(t *testing.T) {
			g := gpu.New(d.dev, d.name)
			defer g.Close()
			testGEMM(t, g)
		})
	}
}

func testGEMM(t *testing.T, g *gpu.Backend) {
	cpu := matmul.NewCPU()
	rng := rand.New(rand.NewPCG(11, 13))
	// gemm_s8_tc's tile is 128×128×64 with a 3-stage ring: 131×300×129 takes
	// 2×2 CTAs and wraps the ring (5 k-tiles), 40×450×150 ends on a half
	// k-tile (Kp = 480) after wrapping it twice; 1100×20×300 takes 9×3 CTAs,
	// a whole group of 8 tile rows and a short one; then random shapes.
	shapes := [][3]int{{1, 1, 1}, {1, 33, 1}, {7, 31, 5}, {16, 32, 8}, {64, 64, 64}, {65, 70, 63}, {3, 100, 130}, {130, 40, 3},
		{131, 300, 129}, {40, 450, 150}, {1100, 20, 300}}
	for range 2 {
		shapes = append(shapes, [3]int{1 + rng.IntN(200), 1 + rng.IntN(300), 1 + rng.IntN(200)})
	}
	for _, s := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				m, k, n := s[0], s[1], s[2]
				ar, ac := shape(m, k, ta)
				br, bc := shape(k, n, tb)
				a, b := randInt8(rng, ar, ac), randInt8(rng, br, bc)
				want := tensor.NewInt32(m, n)
				require.NoError(t, cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), TransA: ta, TransB: tb, C: cpu.WrapInt32(want)}}))
				da, err := g.UploadInt8(a)
				require.NoError(t, err)
				db, err := g.UploadInt8(b)
				require.NoError(t, err)
				dc, err := g.Alloc(tensor.KindInt32, m, n) // poisoned by the device
				require.NoError(t, err)
				require.NoError(t, g.MatMul(context.Background(), []matmul.Product{{A: da, B: db, TransA: ta, TransB: tb, C: dc}}))
				got := tensor.NewInt32(m, n)
				require.NoError(t, g.DownloadInt32(dc, got))
				require.Equal(t, want.Data, got.Data, "shape %v ta=%v tb=%v", s, ta, tb)
				for _, x := range []matmul.Buffer{da, db, dc} {
					require.NoError(t, g.Free(x))
				}
			}
		}
	}
}

func TestProjectEqualsCPU(t *testing.T) {
	for _, d := range devices(t) {
		t.Run(d.name, func(t *testing.T) {
			g := gpu.New(d.dev, d.name)
			defer g.Close()
			testProject(t, g)
		})
	}
}

func testProject(t *testing.T, g *gpu.Backend) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, s := range [][2]int{{1, 1}, {5, 31}, {33, 100}, {70, 513}} {
		m := tensor.NewInt32(s[0], s[1])
		for i := range m.Data {
			m.Data[i] = int32(rng.Uint32())
		}
		r := make([]field.Elem, s[1])
		for i := range r {
			r[i] = field.New(rng.Uint64())
		}
		db, err := g.UploadInt32(m)
		require.NoError(t, err)
		got := make([]field.Elem, s[0])
		require.NoError(t, g.Project(context.Background(), db, r, got))
		for i := range got {
			require.Equal(t, field.DotInt32(m.Row(i), r), got[i], "shape %v row %d", s, i)
		}
		require.NoError(t, g.Free(db))
		m8 := randInt8(rng, s[0], s[1])
		d8, err := g.UploadInt8(m8)
		require.NoError(t, err)
		require.NoError(t, g.Project(context.Background(), d8, r, got))
		for i := range got {
			require.Equal(t, field.DotInt8(m8.Row(i), r), got[i], "int8 shape %v row %d", s, i)
		}
		cols := make([]field.Elem, s[1])
		rr := make([]field.Elem, s[0])
		for i := range rr {
			rr[i] = field.New(rng.Uint64())
		}
		require.NoError(t, g.ProjectCols(context.Background(), d8, rr, cols))
		want := make([]field.Elem, s[1])
		cpu := matmul.NewCPU()
		require.NoError(t, cpu.ProjectCols(context.Background(), cpu.WrapInt8(m8), rr, want))
		require.Equal(t, want, cols, "columns of %v", s)
		for j := range want { // and against the definition
			var acc field.Elem
			for i := 0; i < s[0]; i++ {
				acc = field.Add(acc, field.Mul(field.FromInt64(int64(m8.At(i, j))), rr[i]))
			}
			require.Equal(t, acc, want[j])
		}
		require.NoError(t, g.Free(d8))
	}
}

// TestNoLeaks: after the suite's allocations are freed the device is empty.
func TestNoLeaks(t *testing.T) {
	dev := newEmu(t, 1<<30)
	g := gpu.New(dev, "emu")
	testGEMM(t, g)
	testProject(t, g)
	require.NoError(t, g.Close())
	free, total := dev.MemInfo()
	require.Equal(t, total, free, "every device allocation was freed")
}

func TestOutOfMemory(t *testing.T) {
	dev := newEmu(t, 1<<20)
	defer dev.Close()
	g := gpu.New(dev, "emu")
	_, err := g.Alloc(tensor.KindInt32, 1024, 1024)
	require.ErrorIs(t, err, emu.ErrOutOfMemory)
	b, err := g.Alloc(tensor.KindInt8, 100, 100)
	require.NoError(t, err)
	require.NoError(t, g.Free(b))
	require.ErrorIs(t, g.Free(b), matmul.ErrBuffer)
}

// BenchmarkGEMM times our tensor-core GEMM on every device of the build
// (the emulator at small sizes; with -tags cuda on a GPU, n = 1024 … 16384,
// to put beside bin/cublas_ref), and the prover's extra device work on the
// product: hashing C's rows and projecting C (overhead-% of the GEMM).
func BenchmarkGEMM(b *testing.B) {
	for _, d := range devices(b) {
		sizes := []int{64, 128}
		if d.name == "cuda" {
			sizes = []int{1024, 2048, 4096, 8192, 16384}
		}
		g := gpu.New(d.dev, d.name)
		for _, n := range sizes {
			rng := rand.New(rand.NewPCG(1, 1))
			da, _ := g.UploadInt8(randInt8(rng, n, n))
			db, _ := g.UploadInt8(randInt8(rng, n, n))
			dc, _ := g.Alloc(tensor.KindInt32, n, n)
			r := make([]field.Elem, n)
			for i := range r {
				r[i] = field.New(rng.Uint64())
			}
			hashes, proj := make([][32]byte, n), make([]field.Elem, n)
			b.Run(fmt.Sprintf("%s/n=%d", d.name, n), func(b *testing.B) {
				var gemm, extra time.Duration
				for b.Loop() {
					t0 := time.Now()
					if err := g.MatMul(context.Background(), []matmul.Product{{A: da, B: db, C: dc}}); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if err := g.HashRows(context.Background(), dc, [32]byte{1}, hashes); err != nil {
						b.Fatal(err)
					}
					if err := g.Project(context.Background(), dc, r, proj); err != nil {
						b.Fatal(err)
					}
					gemm += t1.Sub(t0)
					extra += time.Since(t1)
				}
				b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/gemm.Seconds()/1e12, "TOPS")
				b.ReportMetric(100*extra.Seconds()/gemm.Seconds(), "overhead-%")
			})
			g.Free(da)
			g.Free(db)
			g.Free(dc)
		}
		g.Close()
	}
}

func TestReadRows(t *testing.T) {
	dev := newEmu(t, 1<<24)
	defer dev.Close()
	g := gpu.New(dev, "emu")
	defer g.Close()
	m := tensor.NewInt32(9, 5)
	for i := range m.Data {
		m.Data[i] = int32(i*7919 - 20000)
	}
	db, err := g.UploadInt32(m)
	require.NoError(t, err)
	got := make([]byte, 3*20)
	require.NoError(t, g.ReadRows(db, []int{8, 0, 4}, got))
	var want []byte
	for _, i := range []int{8, 0, 4} {
		want = tensor.Int32Bytes(want, m.Row(i))
	}
	require.Equal(t, want, got)
	require.ErrorIs(t, g.ReadRows(db, []int{9}, got[:20]), matmul.ErrShape)
	require.ErrorIs(t, g.ReadRows(db, []int{1}, got), matmul.ErrShape)
	require.NoError(t, g.Free(db))
}

// TestMatMulUpdateEqualsCPU: the weight-gradient GEMM with the SGD update
// fused into its epilogue (gemm_s8_tc_update) writes DW and the next
// weights bit for bit as the CPU GEMM followed by model.UpdateRow, on edge
// shapes, with and without decay, with weights at the clamp limit; both
// outputs are poisoned before the launch.
func TestMatMulUpdateEqualsCPU(t *testing.T) {
	for _, d := range devices(t) {
		t.Run(d.name, func(t *testing.T) {
			g := gpu.New(d.dev, d.name)
			defer g.Close()
			cpu := matmul.NewCPU()
			rng := rand.New(rand.NewPCG(17, 19))
			for _, s := range [][3]int{{1, 1, 1}, {7, 31, 5}, {64, 64, 64}, {65, 70, 63}, {130, 40, 3}, {131, 290, 129}} {
				for _, c := range []struct{ lr, decay, ws int }{{0, 0, 14}, {3, 0, 14}, {1, 12, 14}, {0, 0, 0}} {
					m, k, n := s[0], s[1], s[2]
					a, b := randInt8(rng, k, m), randInt8(rng, k, n) // DW = Aᵀ·B, as in a step
					lim := int64(127) << uint(c.ws)
					w := tensor.NewInt32(m, n)
					for i := range w.Data {
						switch rng.IntN(8) {
						case 0:
							w.Data[i] = int32(lim)
						case 1:
							w.Data[i] = int32(-lim)
						default:
							w.Data[i] = int32(rng.Int64N(2*lim+1) - lim)
						}
					}
					wantDW := tensor.NewInt32(m, n)
					require.NoError(t, cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), TransA: true, B: cpu.WrapInt8(b), C: cpu.WrapInt32(wantDW)}}))
					cfg := model.DefaultConfig()
					cfg.WeightShift, cfg.DecayShift, cfg.LRShift, cfg.LRMaxShift, cfg.LRDecayEvery = c.ws, c.decay, c.lr, c.lr, 0
					wantNext := tensor.NewInt32(m, n)
					for i := 0; i < m; i++ {
						cfg.UpdateRow(1, 0, w.Row(i), wantDW.Row(i), wantNext.Row(i))
					}
					da, err := g.UploadInt8(a)
					require.NoError(t, err)
					db, err := g.UploadInt8(b)
					require.NoError(t, err)
					dw, err := g.UploadInt32(w)
					require.NoError(t, err)
					dc, err := g.Alloc(tensor.KindInt32, m, n)
					require.NoError(t, err)
					dn, err := g.Alloc(tensor.KindInt32, m, n)
					require.NoError(t, err)
					require.NoError(t, g.MatMulUpdate(context.Background(), matmul.Product{A: da, TransA: true, B: db, C: dc}, dw, dn, c.lr, c.decay, lim))
					gotDW, gotNext := tensor.NewInt32(m, n), tensor.NewInt32(m, n)
					require.NoError(t, g.DownloadInt32(dc, gotDW))
					require.NoError(t, g.DownloadInt32(dn, gotNext))
					require.Equal(t, wantDW.Data, gotDW.Data, "DW, shape %v %+v", s, c)
					require.Equal(t, wantNext.Data, gotNext.Data, "next weights, shape %v %+v", s, c)
					bad, err := g.Alloc(tensor.KindInt32, m+1, n)
					require.NoError(t, err)
					require.ErrorIs(t, g.MatMulUpdate(context.Background(), matmul.Product{A: da, TransA: true, B: db, C: dc}, dw, bad, c.lr, c.decay, lim), matmul.ErrShape)
					for _, x := range []matmul.Buffer{da, db, dw, dc, dn, bad} {
						require.NoError(t, g.Free(x))
					}
				}
			}
		})
	}
}

// TestFillEqualsPattern: fill_u8 (kernels/gemm_s8.cu) sets every byte of a
// buffer, with a grid smaller than the buffer (grid-stride loop), and no
// byte beyond it (the emulator's red zones).
func TestFillEqualsPattern(t *testing.T) {
	for _, d := range devices(t) {
		t.Run(d.name, func(t *testing.T) {
			for _, n := range []int{1, 255, 256, 257, 5000} {
				p, err := d.dev.Alloc(n)
				require.NoError(t, err)
				require.NoError(t, d.dev.Launch("fill_u8", [3]int{2, 1, 1}, [3]int{256, 1, 1}, 0, uint64(p), uint64(n), 0x3C))
				got := make([]byte, n)
				require.NoError(t, d.dev.CopyDtoH(got, p))
				require.NoError(t, d.dev.Sync())
				for i, b := range got {
					require.Equal(t, byte(0x3C), b, "byte %d of %d", i, n)
				}
				require.NoError(t, d.dev.Free(p))
			}
		})
	}
}

// TestReadRowsBatch: one batched read-back of whole matrices (copied),
// runs of rows (copied) and scattered rows (gathered by gather_rows, rows
// repeated and out of order) from int8 and int32 buffers of odd widths.
func TestReadRowsBatch(t *testing.T) {
	for _, d := range devices(t) {
		t.Run(d.name, func(t *testing.T) {
			g := gpu.New(d.dev, d.name)
			defer g.Close()
			rng := rand.New(rand.NewPCG(5, 5))
			m8 := randInt8(rng, 37, 13)
			m32 := tensor.NewInt32(20, 7)
			for i := range m32.Data {
				m32.Data[i] = int32(rng.Uint32())
			}
			b8, err := g.UploadInt8(m8)
			require.NoError(t, err)
			b32, err := g.UploadInt32(m32)
			require.NoError(t, err)
			all := make([]int, m8.Rows)
			for i := range all {
				all[i] = i
			}
			reqs := []struct {
				b    matmul.Buffer
				rows []int
			}{{b8, all}, {b32, []int{19, 0, 7, 7, 3}}, {b8, []int{36}}, {b32, []int{3, 4, 5}}, {b8, []int{5, 2, 30, 1}}}
			var reads []gpu.RowsRead
			var want [][]byte
			for _, q := range reqs {
				var w []byte
				for _, i := range q.rows {
					if q.b == b8 {
						w = tensor.Int8Bytes(w, m8.Row(i))
					} else {
						w = tensor.Int32Bytes(w, m32.Row(i))
					}
				}
				want = append(want, w)
				reads = append(reads, gpu.RowsRead{Buf: q.b, Rows: q.rows, Dst: make([]byte, len(w))})
			}
			require.NoError(t, g.ReadRowsBatch(reads))
			for k := range reads {
				require.Equal(t, want[k], reads[k].Dst, "read %d", k)
			}
			require.NoError(t, g.Free(b8))
			require.NoError(t, g.Free(b32))
		})
	}
}
