package snark

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/tensor"
)

var (
	keysOnce sync.Once
	keys     *Keys
	keysErr  error
)

func testKeys(t testing.TB) *Keys {
	keysOnce.Do(func() { keys, keysErr = DevSetup(testShape) })
	require.NoError(t, keysErr)
	return keys
}

func unitTask(seed uint64) protocol.Task {
	return protocol.Task{Work: protocol.WorkMatMul, Mode: protocol.ModeFiatShamir, Samples: uint32(testShape.S),
		MatMul: protocol.MatMulSpec{M: uint32(testShape.M), K: uint32(testShape.K), N: uint32(testShape.N), Seed: seed}}
}

// operands derives A and B from the task and computes C.
func operands(task protocol.Task) (*tensor.Int8, *tensor.Int8, *tensor.Int32) {
	s := ShapeOf(task)
	a, b, c := tensor.NewInt8(s.M, s.K), tensor.NewInt8(s.K, s.N), tensor.NewInt32(s.M, s.N)
	for i := 0; i < s.M; i++ {
		protocol.GenRow(task.MatMul.Seed, 'A', i, a.Row(i))
	}
	for j := 0; j < s.K; j++ {
		protocol.GenRow(task.MatMul.Seed, 'B', j, b.Row(j))
	}
	for i := 0; i < s.M; i++ {
		for j := 0; j < s.N; j++ {
			var acc int32
			for t := 0; t < s.K; t++ {
				acc += int32(a.At(i, t)) * int32(b.At(t, j))
			}
			c.Data[i*s.N+j] = acc
		}
	}
	return a, b, c
}

// TestSuccinctMatMul: prove a unit, encode, decode, verify; a proof for
// another task, wrong operands, a wrong product or altered bytes fail.
func TestSuccinctMatMul(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	k := testKeys(t)
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	task := unitTask(9)
	a, b, c := operands(task)
	enc, err := ProveMatMul(k, task, a, b, c, key)
	require.NoError(t, err)
	s, err := DecodeSuccinct(enc)
	require.NoError(t, err)
	t.Logf("succinct bundle: %d bytes (proof %d bytes)", len(enc), len(s.Proof))
	require.Equal(t, enc, s.Encode(key), "canonical")
	vkb, err := k.MarshalVK()
	require.NoError(t, err)
	shape, vk, err := ParseVK(vkb)
	require.NoError(t, err)
	require.Equal(t, testShape, shape)
	require.NoError(t, VerifyMatMul(s, shape, vk))

	// The same proof presented for another task (other operands).
	other := *s
	other.Task = unitTask(10)
	require.ErrorIs(t, VerifyMatMul(&other, shape, vk), ErrProof)
	// Another root of C.
	other = *s
	other.Roots = append([]fr.Element(nil), s.Roots...)
	other.Roots[2].SetUint64(5)
	require.ErrorIs(t, VerifyMatMul(&other, shape, vk), ErrProof)
	// The proof re-signed by a thief: the Miner input changes.
	thief := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	stolen, err := DecodeSuccinct((&Succinct{Task: s.Task, Roots: s.Roots, Proof: s.Proof}).Encode(thief))
	require.NoError(t, err)
	require.ErrorIs(t, VerifyMatMul(stolen, shape, vk), ErrProof)
	// A key for another shape.
	require.ErrorIs(t, VerifyMatMul(s, MatMulShape{M: 16, K: 8, N: 8, S: 2}, vk), ErrProof)
	// The same operands under another task id: the beacon flavour of the
	// same unit, with or without a nonce (finding 3 of issue 13: a
	// Fiat–Shamir proof accepted for a beacon task, or for a second id).
	beacon := *s
	beacon.Task.Mode = protocol.ModeBeacon
	nonce := [32]byte{1}
	require.ErrorIs(t, VerifyMatMul(&beacon, shape, vk), ErrProof, "a beacon task needs its nonce")
	require.ErrorIs(t, VerifyMatMulNonce(&beacon, shape, vk, &nonce), ErrProof, "a Fiat–Shamir proof for a beacon task")
	require.ErrorIs(t, VerifyMatMulNonce(s, shape, vk, &nonce), ErrProof, "a nonce for a Fiat–Shamir task")
	// Flipped bytes: the signature or the format breaks.
	for _, off := range []int{5, 40, len(enc) - 100, len(enc) - 1} {
		bad := append([]byte(nil), enc...)
		bad[off] ^= 1
		_, err := DecodeSuccinct(bad)
		require.Error(t, err, "offset %d", off)
	}
	_, err = DecodeSuccinct(enc[:len(enc)-1])
	require.Error(t, err)

	// A product wrong in every row cannot be proven (a single wrong row
	// escapes with the sampled-mode probability, 1 − S/M here).
	for i := 0; i < testShape.M; i++ {
		c.Data[i*testShape.N+i%testShape.N]++
	}
	_, err = ProveMatMul(k, task, a, b, c, key)
	require.Error(t, err)
	for i := 0; i < testShape.M; i++ {
		c.Data[i*testShape.N+i%testShape.N]--
	}

	// Keys survive their envelope; a flipped byte breaks the checksum.
	dir := t.TempDir()
	pkb, err := k.MarshalPK()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pk"), pkb, 0o600))
	k2, err := LoadProver(filepath.Join(dir, "pk"))
	require.NoError(t, err)
	enc2, err := ProveMatMul(k2, task, a, b, c, key)
	require.NoError(t, err)
	s2, err := DecodeSuccinct(enc2)
	require.NoError(t, err)
	require.NoError(t, VerifyMatMul(s2, shape, vk))
	vkb[60] ^= 1
	_, _, err = ParseVK(vkb)
	require.ErrorIs(t, err, ErrKey)
}

// TestSuccinctMatMulBeacon: a beacon unit is proven with the nonce issued
// after its commitment and verifies with that nonce only; a re-randomised
// proof (other bytes, same statement) verifies too, so replays are caught by
// StatementKey, which it shares with the original (finding 4 of issue 13).
func TestSuccinctMatMulBeacon(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	k := testKeys(t)
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	task := unitTask(11)
	task.Mode = protocol.ModeBeacon
	a, b, c := operands(task)
	roots, err := MatMulCommitment(ShapeOf(task), a, b, c)
	require.NoError(t, err)
	nonce := sha256.Sum256(append([]byte("beacon"), roots[2].Marshal()...))
	_, err = ProveMatMul(k, task, a, b, c, key)
	require.ErrorIs(t, err, ErrProof, "a beacon unit needs its nonce")
	enc, err := ProveMatMulNonce(k, task, a, b, c, key, &nonce)
	require.NoError(t, err)
	s, err := DecodeSuccinct(enc)
	require.NoError(t, err)
	require.Equal(t, roots[:], s.Roots)
	vkb, err := k.MarshalVK()
	require.NoError(t, err)
	shape, vk, err := ParseVK(vkb)
	require.NoError(t, err)
	require.NoError(t, VerifyMatMulNonce(s, shape, vk, &nonce))
	other := nonce
	other[0] ^= 1
	require.ErrorIs(t, VerifyMatMulNonce(s, shape, vk, &other), ErrProof, "another nonce")
	require.ErrorIs(t, VerifyMatMul(s, shape, vk), ErrProof, "no nonce")

	// Re-randomise: (A, B, C) → (A/ρ, ρB, C) verifies with other bytes.
	proof, err := ParseProof(s.Proof)
	require.NoError(t, err)
	p := proof.(*groth16bn254.Proof)
	var rho, inv fr.Element
	rho.SetUint64(7)
	inv.Inverse(&rho)
	p.Ar.ScalarMultiplication(&p.Ar, inv.BigInt(new(big.Int)))
	p.Bs.ScalarMultiplication(&p.Bs, rho.BigInt(new(big.Int)))
	var pb bytes.Buffer
	_, err = p.WriteTo(&pb)
	require.NoError(t, err)
	require.NotEqual(t, s.Proof, pb.Bytes())
	replay, err := DecodeSuccinct((&Succinct{Task: s.Task, Roots: s.Roots, Proof: pb.Bytes()}).Encode(key))
	require.NoError(t, err)
	require.NoError(t, VerifyMatMulNonce(replay, shape, vk, &nonce), "a re-randomised proof verifies")
	require.Equal(t, s.StatementKey(&nonce), replay.StatementKey(&nonce), "and is the same claim")
	require.NotEqual(t, s.StatementKey(&nonce), s.StatementKey(&other))
}

func FuzzDecodeSuccinct(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	s := &Succinct{Task: unitTask(1), Roots: make([]fr.Element, 3), Proof: []byte{1, 2, 3}}
	f.Add(s.Encode(key))
	cfg := model.DefaultConfig()
	st := &Succinct{Task: protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: 8, Train: cfg},
		Step: 7, Roots: make([]fr.Element, 11), Proof: []byte{4, 5}}
	f.Add(st.Encode(key))
	f.Add([]byte("TPS\x02"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := DecodeSuccinct(in)
		if err != nil {
			return
		}
		if s.PublicKey.Equal(key.Public()) {
			require.Equal(t, in, s.Encode(key))
		}
	})
}

func FuzzParseVK(f *testing.F) {
	f.Add(seal("TPVK", testShape, []byte{1, 2, 3}))
	f.Add(sealStep("TSVK", StepShape{Config: model.DefaultConfig(), Samples: 4}, []byte{1, 2, 3}))
	f.Fuzz(func(t *testing.T, in []byte) {
		ParseVK(in)
		ParseStepVK(in)
	})
}

// BenchmarkSuccinct times a Groth16 proof of an 8×8×8 unit (2 samples) and
// its native verification (operand roots included).
func BenchmarkSuccinct(b *testing.B) {
	k := testKeys(b)
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	task := unitTask(9)
	a, bm, c := operands(task)
	var enc []byte
	b.Run("prove", func(b *testing.B) {
		for b.Loop() {
			var err error
			if enc, err = ProveMatMul(k, task, a, bm, c, key); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(k.CS.GetNbConstraints())*float64(b.N)/b.Elapsed().Seconds(), "constraints/s")
	})
	vkb, _ := k.MarshalVK()
	shape, vk, _ := ParseVK(vkb)
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			s, err := DecodeSuccinct(enc)
			if err != nil {
				b.Fatal(err)
			}
			if err := VerifyMatMul(s, shape, vk); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestStepKeyVersion: a step key of version 1, the circuit with answer
// vectors that the review broke, is refused before its body is read.
func TestStepKeyVersion(t *testing.T) {
	shape := StepShape{Config: model.DefaultConfig(), Samples: 1}
	b := sealStep("TSVK", shape, []byte{1, 2, 3})
	_, body, err := openStep("TSVK", b, MaxVerifyingKey)
	require.NoError(t, err)
	require.Equal(t, []byte{1, 2, 3}, body)
	b[5] = 1
	sum := sha256.Sum256(b[:len(b)-32])
	copy(b[len(b)-32:], sum[:])
	_, _, err = openStep("TSVK", b, MaxVerifyingKey)
	require.ErrorIs(t, err, ErrKey)
}
