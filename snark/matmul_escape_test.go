package snark

import (
	"math"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/stretchr/testify/require"
)

// TestMatMulCircuitEscapeRates plays two cheating miners against the matmul
// circuit and shows that the escape rates docs/SOUNDNESS.md states for it
// ("Succinct matmul units") are reached, not just bounded: the miner fixes
// its C (and, with it, R_C) first; the seed, r, then its answer q, then the
// rows drawn from H(seed, q) follow. A fresh Miner digest per trial gives
// fresh challenges, as re-committing does for a grinding miner.
//
//   - one wrong entry in row i₀ of C: caught only when a draw i_k = i₀;
//     escapes with (1 − 1/M)^S;
//   - row j₀ of B replaced (C = A·B′, q = B′·r, every C row consistent
//     with q): caught only when a draw j_k = j₀ (B_j·r = q_j, or B′'s row
//     does not open against R_B); escapes with (1 − 1/K)^S.
func TestMatMulCircuitEscapeRates(t *testing.T) {
	if testing.Short() {
		t.Skip("solves the circuit a few hundred times")
	}
	s := testShape
	ccs, err := Compile(s)
	require.NoError(t, err)
	a, b, c := randUnit(3, s)
	const trials = 300
	want := math.Pow(1-1.0/float64(s.M), float64(s.S)) // M = K here
	for _, cheat := range []string{"one wrong entry of C", "one row of B replaced"} {
		escaped := 0
		for trial := 0; trial < trials; trial++ {
			cc := make([][]int32, s.M)
			for i := range cc {
				cc[i] = append([]int32(nil), c[i]...)
			}
			var w *MatMulWitness
			if cheat == "one wrong entry of C" {
				cc[5][2]++
				w, err = NewMatMulWitness(s, a, b, cc)
				require.NoError(t, err)
			} else {
				const j0 = 6
				bp := make([][]int8, s.K)
				copy(bp, b)
				bp[j0] = make([]int8, s.N) // the lazy miner's row: zeros
				for i := range cc {
					for j := range cc[i] {
						cc[i][j] -= int32(a[i][j0]) * int32(b[j0][j])
					}
				}
				w, err = NewMatMulWitness(s, a, b, cc) // R_B is the task's
				require.NoError(t, err)
				w.B = bp // q = B′·r and the opened rows of B come from B′
			}
			w.Miner.SetUint64(uint64(trial + 1))
			full, err := frontend.NewWitness(w.Assignment(), ecc.BN254.ScalarField())
			require.NoError(t, err)
			if ccs.IsSolved(full) == nil {
				escaped++
			}
		}
		rate := float64(escaped) / trials
		sigma := math.Sqrt(want * (1 - want) / trials)
		t.Logf("%s: %d of %d escaped (%.3f; stated %.3f, σ %.3f)", cheat, escaped, trials, rate, want, sigma)
		require.InDelta(t, want, rate, 4*sigma, "%s: the stated rate is not what the circuit does", cheat)
	}
}
