package protocol

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
)

func matmulTask() Task {
	return Task{Work: WorkMatMul, Mode: ModeFiatShamir, Samples: 8, MatMul: MatMulSpec{M: 5, K: 7, N: 3, Seed: 9}}
}

func trainTask() Task {
	return Task{Work: WorkTrain, Mode: ModeBeacon, Samples: 16, Train: model.DefaultConfig(), DatasetRoot: [32]byte{1, 2, 3}}
}

func TestTaskRoundTrip(t *testing.T) {
	for _, task := range []Task{matmulTask(), trainTask()} {
		enc := task.AppendBinary(nil)
		got, err := ParseTask(enc)
		require.NoError(t, err)
		require.Equal(t, enc, got.AppendBinary(nil))
		require.Equal(t, task.ID(), got.ID())
		// Every truncation and every extension is rejected.
		for i := 0; i < len(enc); i++ {
			_, err := ParseTask(enc[:i])
			require.Error(t, err, "truncated to %d", i)
		}
		_, err = ParseTask(append(enc, 0))
		require.ErrorIs(t, err, ErrTask)
	}
}

func TestTaskLimits(t *testing.T) {
	bad := []Task{
		{Work: WorkMatMul, Mode: ModeFiatShamir, Samples: 0, MatMul: MatMulSpec{M: 1, K: 1, N: 1}},
		{Work: WorkMatMul, Mode: 3, Samples: 1, MatMul: MatMulSpec{M: 1, K: 1, N: 1}},
		{Work: WorkMatMul, Mode: ModeFiatShamir, Samples: 1, MatMul: MatMulSpec{M: 0, K: 1, N: 1}},
		{Work: WorkMatMul, Mode: ModeFiatShamir, Samples: 1, MatMul: MatMulSpec{M: 1 << 17, K: 1, N: 1}},
		{Work: WorkMatMul, Mode: ModeFiatShamir, Samples: 1, MatMul: MatMulSpec{M: 1 << 16, K: 1, N: 1 << 16}},
		{Work: 9, Mode: ModeFiatShamir, Samples: 1},
	}
	for i, task := range bad {
		require.ErrorIs(t, task.Validate(), ErrTask, "case %d", i)
		_, err := ParseTask(task.AppendBinary(nil))
		require.Error(t, err, "case %d", i)
	}
}

func FuzzParseTask(f *testing.F) {
	f.Add(matmulTask().AppendBinary(nil))
	f.Add(trainTask().AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		task, err := ParseTask(b)
		if err != nil {
			return
		}
		// Whatever parses re-encodes to the same bytes (one encoding per task).
		require.Equal(t, b, task.AppendBinary(nil))
		_, err = NewPlan(task)
		require.NoError(t, err)
	})
}

func TestPlanShapes(t *testing.T) {
	p, err := NewPlan(trainTask())
	require.NoError(t, err)
	d := trainTask().Train.Dims()
	L := len(d) - 1
	require.Len(t, p.Products, 3*L-1)
	require.Len(t, p.Groups, L+1)
	for _, pr := range p.Products {
		c := p.Matrices[pr.C]
		require.Equal(t, [2]int{pr.M, pr.N}, [2]int{c.Rows, c.Cols}, pr.Name)
		a, b := p.Matrices[pr.A.Matrix], p.Matrices[pr.B.Matrix]
		am, ak := a.Rows, a.Cols
		if pr.A.Trans {
			am, ak = ak, am
		}
		bk, bn := b.Rows, b.Cols
		if pr.B.Trans {
			bk, bn = bn, bk
		}
		require.Equal(t, [4]int{pr.M, pr.K, pr.K, pr.N}, [4]int{am, ak, bk, bn}, pr.Name)
		if !pr.A.Trans {
			require.Equal(t, c.Group, a.Group, "%s: A and C must share rows", pr.Name)
		}
	}
	for g, gs := range p.Groups {
		for _, m := range gs.Matrices {
			require.Equal(t, gs.Rows, p.Matrices[m].Rows, "group %d", g)
		}
	}
}

func TestTranscriptDeterministicAndSeparated(t *testing.T) {
	a, b := NewTranscript(), NewTranscript()
	a.Absorb("x", []byte("1"))
	b.Absorb("x", []byte("1"))
	require.Equal(t, a.Elems("r", 100), b.Elems("r", 100))
	c := NewTranscript()
	c.Absorb("x1", nil) // label/data boundary is encoded
	d := NewTranscript()
	d.Absorb("x", []byte("1"))
	require.NotEqual(t, c.State(), d.State())
	for _, e := range a.Elems("r2", 1000) {
		require.Less(t, uint64(e), field.P)
	}
	require.NotEqual(t, a.Elems("r", 4), b.Elems("s", 4))
}

func TestSampleRows(t *testing.T) {
	seed := [32]byte{7}
	for _, c := range []struct{ n, s int }{{1, 5}, {10, 10}, {10, 3}, {1000, 32}, {60000, 100}, {3, 2}} {
		rows := SampleRows(seed, 1, c.n, c.s)
		require.Len(t, rows, min(c.n, c.s))
		for i, r := range rows {
			require.True(t, r >= 0 && r < c.n)
			if i > 0 {
				require.Less(t, rows[i-1], r, "sorted and distinct")
			}
		}
		require.Equal(t, rows, SampleRows(seed, 1, c.n, c.s))
	}
	require.NotEqual(t, SampleRows(seed, 1, 1000, 8), SampleRows(seed, 2, 1000, 8))
	// Roughly uniform: each of 10 rows drawn about s/n of the time.
	count := make([]int, 10)
	for i := 0; i < 2000; i++ {
		for _, r := range SampleRows([32]byte{byte(i), byte(i >> 8)}, 0, 10, 3) {
			count[r]++
		}
	}
	for r, c := range count {
		require.InDelta(t, 600, c, 120, "row %d", r)
	}
}

func TestGenRow(t *testing.T) {
	a, b := make([]int8, 100), make([]int8, 100)
	GenRow(1, 'A', 3, a)
	GenRow(1, 'A', 3, b)
	require.Equal(t, a, b)
	GenRow(1, 'B', 3, b)
	require.NotEqual(t, a, b)
	short := make([]int8, 40)
	GenRow(1, 'A', 3, short)
	require.Equal(t, a[:40], short)
}

// TestRowGenSpec: RowGen's rows are the keystream §2 specifies, written
// over whatever the row held.
func TestRowGenSpec(t *testing.T) {
	for _, which := range []byte{'A', 'B'} {
		key := sha256.Sum256(append(binary.BigEndian.AppendUint64([]byte("trainproof/v2/gen"), 7), which))
		block, err := aes.NewCipher(key[:16])
		require.NoError(t, err)
		g := NewRowGen(7, which)
		for _, i := range []int{0, 1, 4095, 65535} {
			var iv [16]byte
			binary.BigEndian.PutUint32(iv[:], uint32(i))
			want := make([]byte, 1000)
			cipher.NewCTR(block, iv[:]).XORKeyStream(want, want)
			got := make([]int8, 1000)
			for j := range got {
				got[j] = int8(j) // stale contents
			}
			g.Row(i, got)
			for j := range got {
				require.Equal(t, int8(want[j]), got[j], "%c row %d byte %d", which, i, j)
			}
			gen := make([]int8, 1000)
			GenRow(7, which, i, gen)
			require.Equal(t, got, gen)
		}
	}
}

func TestMaxInnerAgrees(t *testing.T) { require.Equal(t, matmul.MaxInner, MaxInner) }
