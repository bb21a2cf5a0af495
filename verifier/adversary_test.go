package verifier_test

// The adversarial suite: a cheating miner that signs its own wrong work with
// a valid key. Every cheat must be rejected with the error it deserves, and
// sampled-mode escape rates must match docs/SOUNDNESS.md.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"math"
	"math/big"
	mrand "math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/verifier"
)

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func matmulTask(m, k, n, samples int, mode protocol.Mode) protocol.Task {
	return protocol.Task{Work: protocol.WorkMatMul, Mode: mode, Samples: uint32(samples),
		MatMul: protocol.MatMulSpec{M: uint32(m), K: uint32(k), N: uint32(n), Seed: 42}}
}

// matmulStep runs a matmul unit honestly; cheats then edit the returned step.
func matmulStep(t testing.TB, task protocol.Task) *prover.Step {
	st, err := prover.MatMulStep(context.Background(), matmul.NewCPU(), task)
	require.NoError(t, err)
	return st
}

// prove commits, answers and signs a (possibly doctored) step, and decodes the result.
func prove(t testing.TB, st *prover.Step, variant bundle.Variant, key ed25519.PrivateKey, nonce [32]byte) (*bundle.Bundle, []byte) {
	pd, err := prover.Commit(context.Background(), st, pub(key))
	require.NoError(t, err)
	_, enc, err := pd.Finish(variant, nonce, key)
	require.NoError(t, err)
	b, err := bundle.Decode(enc, 0)
	require.NoError(t, err)
	return b, enc
}

func requireCheck(t *testing.T, err error, matrix string, reason verifier.Reason) {
	t.Helper()
	var ce *verifier.CheckError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, verifier.ErrCheck)
	if matrix != "" {
		require.Equal(t, matrix, ce.Matrix, "%v", err)
	}
	require.Equal(t, reason, ce.Reason, "%v", err)
}

func TestMatMulHonest(t *testing.T) {
	key := newKey(t)
	for _, variant := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		for _, shape := range [][3]int{{1, 1, 1}, {1, 40, 7}, {33, 17, 9}, {64, 64, 64}} {
			task := matmulTask(shape[0], shape[1], shape[2], 8, protocol.ModeFiatShamir)
			b, _ := prove(t, matmulStep(t, task), variant, key, [32]byte{})
			res, err := verifier.Verify(b, verifier.Options{AnyTask: true})
			require.NoError(t, err, "%v %v", variant, shape)
			require.Equal(t, task.ID(), res.TaskID)
			if variant == bundle.Full {
				require.Equal(t, verifier.Full, res.Mode)
				// Full data also supports sampled mode.
				_, err = verifier.Verify(b, verifier.Options{AnyTask: true, Mode: verifier.Sampled})
				require.NoError(t, err)
			} else {
				_, err = verifier.Verify(b, verifier.Options{AnyTask: true, Mode: verifier.Full})
				require.ErrorIs(t, err, verifier.ErrMode)
			}
		}
	}
}

func TestMatMulCheats(t *testing.T) {
	key := newKey(t)
	// Samples ≥ rows: sampled mode opens every row, so every cheat must be caught.
	task := matmulTask(24, 20, 16, 64, protocol.ModeFiatShamir)
	cases := []struct {
		name   string
		cheat  func(st *prover.Step, p *protocol.Plan)
		matrix string
		reason verifier.Reason
	}{
		{"wrong element", func(st *prover.Step, p *protocol.Plan) { st.Matrices[p.MatC].I32.Data[7*16+3]++ }, "C", verifier.ReasonProduct},
		{"wrong row", func(st *prover.Step, p *protocol.Plan) {
			for j := range st.Matrices[p.MatC].I32.Row(5) {
				st.Matrices[p.MatC].I32.Row(5)[j] = 1234
			}
		}, "C", verifier.ReasonProduct},
		{"zeroed output", func(st *prover.Step, p *protocol.Plan) { clear(st.Matrices[p.MatC].I32.Data) }, "C", verifier.ReasonProduct},
		{"random operands, correct product", func(st *prover.Step, p *protocol.Plan) {
			rng := mrand.New(mrand.NewPCG(1, 1))
			a := st.Matrices[p.MatA].I8
			for i := range a.Data {
				a.Data[i] = int8(rng.IntN(256) - 128)
			}
			recompute(t, st, p)
		}, "C", verifier.ReasonProduct},
		{"reordered rows", func(st *prover.Step, p *protocol.Plan) {
			c := st.Matrices[p.MatC].I32
			r0, r1 := append([]int32(nil), c.Row(0)...), c.Row(1)
			copy(c.Row(0), r1)
			copy(c.Row(1), r0)
		}, "C", verifier.ReasonProduct},
	}
	for _, c := range cases {
		for _, variant := range []bundle.Variant{bundle.Sampled, bundle.Full} {
			t.Run(c.name+"/"+variant.String(), func(t *testing.T) {
				st := matmulStep(t, task)
				p, err := protocol.NewPlan(task)
				require.NoError(t, err)
				c.cheat(st, p)
				st.Leaves = nil // the cheating miner commits to what it sends
				b, _ := prove(t, st, variant, key, [32]byte{})
				_, err = verifier.Verify(b, verifier.Options{AnyTask: true})
				requireCheck(t, err, c.matrix, c.reason)
			})
		}
	}
}

// recompute makes C = A·B again after a cheat changed the operands.
func recompute(t testing.TB, st *prover.Step, p *protocol.Plan) {
	cpu := matmul.NewCPU()
	require.NoError(t, cpu.MatMul(context.Background(), []matmul.Product{{
		A: cpu.WrapInt8(st.Matrices[p.MatA].I8), B: cpu.WrapInt8(st.Matrices[p.MatB].I8), C: cpu.WrapInt32(st.Matrices[p.MatC].I32)}}))
}

func TestBundleTampering(t *testing.T) {
	key := newKey(t)
	task := matmulTask(16, 12, 8, 4, protocol.ModeFiatShamir)
	_, enc := prove(t, matmulStep(t, task), bundle.Sampled, key, [32]byte{})

	// Truncated or extended bytes.
	for _, n := range []int{0, 3, 10, len(enc) / 2, len(enc) - 1} {
		_, err := bundle.Decode(enc[:n], 0)
		require.ErrorIs(t, err, bundle.ErrFormat, "truncated to %d", n)
	}
	_, err := bundle.Decode(append(append([]byte(nil), enc...), 0), 0)
	require.ErrorIs(t, err, bundle.ErrFormat)
	_, err = bundle.Decode(enc, len(enc)-1)
	require.ErrorIs(t, err, bundle.ErrTooLarge)

	// Any flipped byte before the signature breaks the signature.
	for _, off := range []int{12, 60, len(enc) - 100} {
		bad := append([]byte(nil), enc...)
		bad[off] ^= 0x40
		_, err := bundle.Decode(bad, 0)
		require.Error(t, err, "offset %d", off)
	}
	bad := append([]byte(nil), enc...)
	bad[len(bad)-1] ^= 1
	_, err = bundle.Decode(bad, 0)
	require.ErrorIs(t, err, bundle.ErrSignature)

	// Lying shapes: a header that claims another shape with the body of this one.
	b, err := bundle.Decode(enc, 0)
	require.NoError(t, err)
	other := task
	other.MatMul.M = 17
	lie := append([]byte(nil), enc[:7]...)
	lie = append(lie, enc[7:9]...)
	lie = append(lie, other.AppendBinary(nil)...)
	lie = append(lie, enc[9+len(task.AppendBinary(nil)):]...)
	_, err = bundle.Decode(lie, 0)
	require.ErrorIs(t, err, bundle.ErrFormat)

	// Signer not allowed; another task expected.
	_, err = verifier.Verify(b, verifier.Options{AnyTask: true, Keys: []ed25519.PublicKey{pub(newKey(t))}})
	require.ErrorIs(t, err, verifier.ErrKey)
	otherID := other.ID()
	_, err = verifier.Verify(b, verifier.Options{TaskID: &otherID})
	require.ErrorIs(t, err, verifier.ErrTask)
	_, err = verifier.Verify(b, verifier.Options{AnyTask: true, Keys: []ed25519.PublicKey{pub(key)}})
	require.NoError(t, err)
}

// TestResignedOpeningsFail: a thief re-signs an honest miner's sampled bundle
// with its own key. The challenges depend on the signer, so the openings no
// longer answer them.
func TestResignedBundle(t *testing.T) {
	honest, thief := newKey(t), newKey(t)
	task := matmulTask(64, 32, 32, 4, protocol.ModeFiatShamir)
	b, _ := prove(t, matmulStep(t, task), bundle.Sampled, honest, [32]byte{})
	_, err := verifier.Verify(b, verifier.Options{AnyTask: true})
	require.NoError(t, err)
	enc, err := bundle.Encode(b, thief)
	require.NoError(t, err)
	stolen, err := bundle.Decode(enc, 0)
	require.NoError(t, err)
	_, err = verifier.Verify(stolen, verifier.Options{AnyTask: true})
	require.ErrorIs(t, err, verifier.ErrCheck)
}

func TestBeaconNonce(t *testing.T) {
	key := newKey(t)
	task := matmulTask(32, 16, 16, 4, protocol.ModeBeacon)
	nonce := [32]byte{9, 9}
	b, _ := prove(t, matmulStep(t, task), bundle.Sampled, key, nonce)
	issued := func(n [32]byte) verifier.Options {
		return verifier.Options{AnyTask: true, Nonce: func(commit.Hash, uint64, [32]byte) ([32]byte, bool) { return n, true }}
	}
	_, err := verifier.Verify(b, issued(nonce))
	require.NoError(t, err)
	_, err = verifier.Verify(b, issued([32]byte{1}))
	require.ErrorIs(t, err, verifier.ErrStale)
	_, err = verifier.Verify(b, verifier.Options{AnyTask: true})
	require.ErrorIs(t, err, verifier.ErrStale)
}

// hypergeometric miss probability C(n−t, s)/C(n, s).
func missProb(n, t, s int) float64 {
	num := new(big.Int).Binomial(int64(n-t), int64(s))
	den := new(big.Int).Binomial(int64(n), int64(s))
	f, _ := new(big.Rat).SetFrac(num, den).Float64()
	return f
}

// TestSampledEscapeRates corrupts t of the n rows of C, commits once, and
// draws 10 000 fresh beacon nonces: the fraction of accepted bundles must
// match C(n−t, s)/C(n, s) within five standard errors.
func TestSampledEscapeRates(t *testing.T) {
	if testing.Short() {
		t.Skip("10 000 trials per case")
	}
	const n, s, trials = 64, 8, 10000
	key := newKey(t)
	task := matmulTask(n, 16, 8, s, protocol.ModeBeacon)
	p, err := protocol.NewPlan(task)
	require.NoError(t, err)
	for _, bad := range []int{1, 4, 16} {
		st := matmulStep(t, task)
		for i := 0; i < bad; i++ {
			st.Matrices[p.MatC].I32.Row(i * (n / bad))[i%8] += int32(i + 1)
		}
		st.Leaves = nil
		pd, err := prover.Commit(context.Background(), st, pub(key))
		require.NoError(t, err)
		escaped := 0
		var nonce [32]byte
		for trial := 0; trial < trials; trial++ {
			nonce[0], nonce[1], nonce[2] = byte(trial), byte(trial>>8), byte(bad)
			b, _, err := pd.Finish(bundle.Sampled, nonce, key)
			require.NoError(t, err)
			_, err = verifier.Verify(b, verifier.Options{AnyTask: true, Nonce: func(commit.Hash, uint64, [32]byte) ([32]byte, bool) { return nonce, true }})
			if err == nil {
				escaped++
			} else if !errors.Is(err, verifier.ErrCheck) {
				t.Fatalf("unexpected error %v", err)
			}
		}
		want := missProb(n, bad, s)
		got := float64(escaped) / trials
		se := math.Sqrt(want * (1 - want) / trials)
		t.Logf("%d of %d rows wrong, s = %d: escape %.4f measured, %.4f theory (±%.4f)", bad, n, s, got, want, se)
		require.InDelta(t, want, got, 5*se+1e-9)
	}
}
