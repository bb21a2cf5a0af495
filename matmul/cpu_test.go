package matmul

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/tensor"
)

// foreignBuf is a Buffer some other backend made.
type foreignBuf struct{}

func (foreignBuf) Kind() tensor.Kind { return tensor.KindInt8 }
func (foreignBuf) Shape() (int, int) { return 2, 2 }

func randInt32(rng *rand.Rand, rows, cols int) *tensor.Int32 {
	m := tensor.NewInt32(rows, cols)
	for i := range m.Data {
		switch rng.IntN(8) {
		case 0:
			m.Data[i] = math.MinInt32
		case 1:
			m.Data[i] = math.MaxInt32
		default:
			m.Data[i] = int32(rng.Uint32())
		}
	}
	return m
}

func randElems(rng *rand.Rand, n int) []field.Elem {
	r := make([]field.Elem, n)
	for i := range r {
		r[i] = field.New(rng.Uint64())
		if i%5 == 0 {
			r[i] = field.Elem(field.P - 1)
		}
	}
	return r
}

// TestBackendErrors: wrong kinds, shapes and freed or foreign buffers are
// rejected with the sentinel errors, before anything is written.
func TestBackendErrors(t *testing.T) {
	ctx := context.Background()
	cpu := NewCPU()
	a, b := cpu.WrapInt8(tensor.NewInt8(2, 3)), cpu.WrapInt8(tensor.NewInt8(3, 2))
	c := cpu.WrapInt32(tensor.NewInt32(2, 2))
	mm := func(p Product) error { return cpu.MatMul(ctx, []Product{p}) }

	require.NoError(t, mm(Product{A: a, B: b, C: c}))
	for name, p := range map[string]Product{
		"inner":      {A: a, B: a, C: c},
		"rows of C":  {A: a, B: b, C: cpu.WrapInt32(tensor.NewInt32(3, 2))},
		"cols of C":  {A: a, B: b, C: cpu.WrapInt32(tensor.NewInt32(2, 3))},
		"TransA":     {A: a, B: b, TransA: true, C: c},
		"TransB":     {A: a, B: b, TransB: true, C: c},
		"row hashes": {A: a, B: b, C: c, RowHashes: make([][32]byte, 1)},
	} {
		require.ErrorIs(t, mm(p), ErrShape, name)
	}
	for name, p := range map[string]Product{
		"A int32": {A: cpu.WrapInt32(tensor.NewInt32(2, 3)), B: b, C: c},
		"B int32": {A: a, B: cpu.WrapInt32(tensor.NewInt32(3, 2)), C: c},
		"C int8":  {A: a, B: b, C: cpu.WrapInt8(tensor.NewInt8(2, 2))},
	} {
		require.ErrorIs(t, mm(p), ErrBuffer, name)
	}

	// A later product's error stops the batch with that error.
	require.ErrorIs(t, cpu.MatMul(ctx, []Product{{A: a, B: b, C: c}, {A: a, B: a, C: c}}), ErrShape)

	// Freed and foreign buffers.
	freed, err := cpu.Alloc(tensor.KindInt8, 3, 2)
	require.NoError(t, err)
	require.NoError(t, cpu.Free(freed))
	require.ErrorIs(t, cpu.Free(freed), ErrBuffer)
	require.ErrorIs(t, mm(Product{A: a, B: freed, C: c}), ErrBuffer)
	require.ErrorIs(t, mm(Product{A: cpu.WrapInt8(tensor.NewInt8(2, 2)), B: foreignBuf{}, C: c}), ErrBuffer)
	require.ErrorIs(t, mm(Product{A: a, B: foreignBuf{}, C: c}), ErrBuffer) // and not ErrShape: the buffer comes first
	require.ErrorIs(t, cpu.DownloadInt8(freed, tensor.NewInt8(3, 2)), ErrBuffer)
	require.ErrorIs(t, cpu.ReadRows(freed, []int{0}, make([]byte, 2)), ErrBuffer)
	require.ErrorIs(t, cpu.Project(ctx, freed, make([]field.Elem, 2), make([]field.Elem, 3)), ErrBuffer)
	require.ErrorIs(t, cpu.ProjectCols(ctx, foreignBuf{}, make([]field.Elem, 2), make([]field.Elem, 2)), ErrBuffer)
	require.ErrorIs(t, cpu.HashRows(ctx, freed, [32]byte{}, make([][32]byte, 3)), ErrBuffer)
	require.ErrorIs(t, cpu.Free(foreignBuf{}), ErrBuffer)
	require.ErrorIs(t, cpu.Free(nil), ErrBuffer)

	// Shapes of the other operations.
	_, err = cpu.Alloc(tensor.KindInt8, -1, 2)
	require.ErrorIs(t, err, ErrShape)
	_, err = cpu.Alloc(tensor.Kind(99), 1, 2)
	require.ErrorIs(t, err, ErrBuffer)
	require.ErrorIs(t, cpu.DownloadInt8(a, tensor.NewInt8(3, 2)), ErrShape)
	require.ErrorIs(t, cpu.DownloadInt8(c, tensor.NewInt8(2, 2)), ErrShape)
	require.ErrorIs(t, cpu.DownloadInt32(a, tensor.NewInt32(2, 3)), ErrShape)
	require.ErrorIs(t, cpu.ReadRows(a, []int{0}, make([]byte, 2)), ErrShape)
	require.ErrorIs(t, cpu.ReadRows(a, []int{2}, make([]byte, 3)), ErrShape)
	require.ErrorIs(t, cpu.ReadRows(a, []int{-1}, make([]byte, 3)), ErrShape)
	require.ErrorIs(t, cpu.Project(ctx, a, make([]field.Elem, 2), make([]field.Elem, 2)), ErrShape)
	require.ErrorIs(t, cpu.Project(ctx, a, make([]field.Elem, 3), make([]field.Elem, 3)), ErrShape)
	require.ErrorIs(t, cpu.ProjectCols(ctx, a, make([]field.Elem, 3), make([]field.Elem, 3)), ErrShape)
	require.ErrorIs(t, cpu.ProjectCols(ctx, c, make([]field.Elem, 2), make([]field.Elem, 2)), ErrShape) // int32
	require.ErrorIs(t, cpu.HashRows(ctx, a, [32]byte{}, make([][32]byte, 3)), ErrShape)

	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, cpu.MatMul(ctx2, []Product{{A: a, B: b, C: c}}), context.Canceled)
}

// TestBuffers: uploads copy, wraps alias, downloads and ReadRows return the
// canonical contents.
func TestBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	cpu := NewCPU()
	m8, m32 := randInt8(rng, 5, 7), randInt32(rng, 4, 3)
	b8, err := cpu.UploadInt8(m8)
	require.NoError(t, err)
	b32, err := cpu.UploadInt32(m32)
	require.NoError(t, err)
	m8.Data[0]++ // an upload is a copy

	got8, got32 := tensor.NewInt8(5, 7), tensor.NewInt32(4, 3)
	require.NoError(t, cpu.DownloadInt8(b8, got8))
	require.NoError(t, cpu.DownloadInt32(b32, got32))
	m8.Data[0]--
	require.Equal(t, m8, got8)
	require.Equal(t, m32, got32)

	rows := []int{4, 0, 4}
	dst := make([]byte, 3*7)
	require.NoError(t, cpu.ReadRows(b8, rows, dst))
	require.Equal(t, append(append(tensor.Int8Bytes(nil, m8.Row(4)), tensor.Int8Bytes(nil, m8.Row(0))...), tensor.Int8Bytes(nil, m8.Row(4))...), dst)
	dst = make([]byte, 2*3*4)
	require.NoError(t, cpu.ReadRows(b32, []int{3, 1}, dst))
	require.Equal(t, append(tensor.Int32Bytes(nil, m32.Row(3)), tensor.Int32Bytes(nil, m32.Row(1))...), dst)

	z, err := cpu.Alloc(tensor.KindInt32, 2, 3)
	require.NoError(t, err)
	r, cols := z.Shape()
	require.Equal(t, [3]any{tensor.KindInt32, 2, 3}, [3]any{z.Kind(), r, cols})
	require.Equal(t, "cpu", cpu.Name())
	require.NoError(t, cpu.Close())
}

// TestProject: row and column projections against field.Dot on elements,
// below and above the parallel threshold, int8 and int32.
func TestProject(t *testing.T) {
	const seed = 11
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 11))
	cpu := NewCPU()
	elems8 := func(row []int8) []field.Elem {
		e := make([]field.Elem, len(row))
		for i, x := range row {
			e[i] = field.FromInt64(int64(x))
		}
		return e
	}
	for _, s := range [][2]int{{1, 1}, {3, 5}, {17, 300}, {300, 300}, {1, 70000}, {600, 130}, {0, 4}, {4, 0}} {
		rows, cols := s[0], s[1]
		m8, m32 := randInt8(rng, rows, cols), randInt32(rng, rows, cols)
		r := randElems(rng, cols)

		out := make([]field.Elem, rows)
		require.NoError(t, cpu.Project(ctx, cpu.WrapInt8(m8), r, out))
		for i := range out {
			require.Equal(t, field.Dot(elems8(m8.Row(i)), r), out[i], "seed %d int8 %v row %d", seed, s, i)
		}
		require.NoError(t, cpu.Project(ctx, cpu.WrapInt32(m32), r, out))
		for i := range out {
			e := make([]field.Elem, cols)
			for j, x := range m32.Row(i) {
				e[j] = field.FromInt64(int64(x))
			}
			require.Equal(t, field.Dot(e, r), out[i], "seed %d int32 %v row %d", seed, s, i)
		}

		rc := randElems(rng, rows)
		outc := make([]field.Elem, cols)
		for j := range outc {
			outc[j] = 12345 // overwritten, not accumulated
		}
		require.NoError(t, cpu.ProjectCols(ctx, cpu.WrapInt8(m8), rc, outc))
		for j := range outc {
			var want field.Elem
			for i := 0; i < rows; i++ {
				want = field.Add(want, field.Mul(field.FromInt64(int64(m8.At(i, j))), rc[i]))
			}
			require.Equal(t, want, outc[j], "seed %d cols %v col %d", seed, s, j)
		}
	}
}

// TestProjectColsExtremes: every element −128 against r = p − 1 is the
// largest limb sum ProjectCols accumulates.
func TestProjectColsExtremes(t *testing.T) {
	const rows, cols = 5000, 70
	cpu := NewCPU()
	r := make([]field.Elem, rows)
	for i := range r {
		r[i] = field.Elem(field.P - 1)
	}
	out := make([]field.Elem, cols)
	for _, v := range []int8{-128, 127} {
		require.NoError(t, cpu.ProjectCols(context.Background(), cpu.WrapInt8(fill(tensor.NewInt8(rows, cols), v)), r, out))
		want := field.Mul(field.FromInt64(int64(v)*rows), field.Elem(field.P-1))
		for j := range out {
			require.Equal(t, want, out[j], "value %d col %d", v, j)
		}
	}
}

// TestHashRows: BLAKE3 keyed hashes of the rows' canonical bytes
// (commit.RowLeaf), serial and parallel sizes, int8 and int32, rows of one
// chunk, several chunks and several 16-chunk groups, and empty rows.
func TestHashRows(t *testing.T) {
	const seed = 9
	rng := rand.New(rand.NewPCG(seed, 9))
	cpu := NewCPU()
	for _, s := range [][2]int{{1, 1}, {3, 7}, {300, 300}, {1000, 65}, {5, 0}, {17, 4096}, {3, 5000}, {2, 16385}} {
		for _, key := range [][32]byte{{}, commit.RowKey([]byte("trainproof/leaf"))} {
			rows, cols := s[0], s[1]
			m8, m32 := randInt8(rng, rows, cols), randInt32(rng, rows, cols)
			out := make([][32]byte, rows)
			require.NoError(t, cpu.HashRows(context.Background(), cpu.WrapInt8(m8), key, out))
			for i := range out {
				require.Equal(t, commit.RowLeaf(&key, tensor.Int8Bytes(nil, m8.Row(i))), out[i], "seed %d int8 %v row %d", seed, s, i)
			}
			require.NoError(t, cpu.HashRows(context.Background(), cpu.WrapInt32(m32), key, out))
			for i := range out {
				require.Equal(t, commit.RowLeaf(&key, tensor.Int32Bytes(nil, m32.Row(i))), out[i], "seed %d int32 %v row %d", seed, s, i)
			}
		}
	}
}

// TestHashRowsNoAllocPerRow: hashing allocates per worker, not per row.
func TestHashRowsNoAllocPerRow(t *testing.T) {
	cpu := NewCPU()
	m := cpu.WrapInt32(tensor.NewInt32(4096, 16)) // parallel
	out := make([][32]byte, 4096)
	allocs := testing.AllocsPerRun(5, func() {
		if err := cpu.HashRows(context.Background(), m, [32]byte{1}, out); err != nil {
			t.Fatal(err)
		}
	})
	require.Less(t, allocs, 64.0)
}
