package snark

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/stretchr/testify/require"
)

// allocLimit is what one decode may allocate, whatever the input: the
// goal is 64 MiB beyond the file, and every input here is far smaller.
const allocLimit = 64 << 20

// bounded runs f and fails if it allocated more than allocLimit. A bomb
// that slipped through would not get here: asking for hundreds of GiB
// ends the process with "fatal error: runtime: out of memory", which fails
// the test run just as loudly.
func bounded(t testing.TB, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > allocLimit {
		t.Fatalf("allocated %d MiB, more than %d", d>>20, allocLimit>>20)
	}
}

// tinyCircuit is a circuit small enough for a ceremony in a test (a
// domain of 8 points), with or without a BSB22 commitment (the step
// circuit has one; the matmul circuit none).
type tinyCircuit struct {
	X, Y   frontend.Variable `gnark:",public"`
	A, B   frontend.Variable
	commit bool
}

func (c *tinyCircuit) Define(api frontend.API) error {
	p := api.Mul(c.A, c.B)
	api.AssertIsEqual(p, c.X)
	api.AssertIsEqual(api.Add(c.A, c.B), c.Y)
	if c.commit {
		cm, err := api.(frontend.Committer).Commit(c.X, c.A, c.B)
		if err != nil {
			return err
		}
		api.AssertIsDifferent(cm, 0)
	}
	return nil
}

type tinySetup struct {
	ccs   constraint.ConstraintSystem
	pk    []byte // gnark's compressed encodings
	vk    []byte
	proof []byte
	pub   []byte // the public witness, binary
}

var (
	tinyOnce [2]sync.Once
	tinyKeys [2]tinySetup
)

// tiny sets up and proves the tiny circuit once per test binary.
func tiny(t testing.TB, commit bool) tinySetup {
	i := 0
	if commit {
		i = 1
	}
	tinyOnce[i].Do(func() {
		ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &tinyCircuit{commit: commit})
		if err != nil {
			panic(err)
		}
		pk, vk, err := groth16.Setup(ccs)
		if err != nil {
			panic(err)
		}
		w, err := frontend.NewWitness(&tinyCircuit{X: 6, Y: 5, A: 2, B: 3}, ecc.BN254.ScalarField())
		if err != nil {
			panic(err)
		}
		proof, err := groth16.Prove(ccs, pk, w)
		if err != nil {
			panic(err)
		}
		pub, _ := w.Public()
		pb, _ := pub.MarshalBinary()
		tinyKeys[i] = tinySetup{ccs: ccs, pk: mustBytes(pk), vk: mustBytes(vk), proof: mustBytes(proof), pub: pb}
	})
	return tinyKeys[i]
}

// patch returns a copy of b with a big-endian value written at off.
func patch(b []byte, off int, v uint64, size int) []byte {
	b = bytes.Clone(b)
	switch size {
	case 1:
		b[off] = byte(v)
	case 2:
		binary.BigEndian.PutUint16(b[off:], uint16(v))
	case 4:
		binary.BigEndian.PutUint32(b[off:], uint32(v))
	case 8:
		binary.BigEndian.PutUint64(b[off:], v)
	}
	return b
}

// bombProof is a Groth16 proof whose commitment count is 2³²−1: gnark's
// decoder allocates 64 bytes per commitment before reading one, 256 GiB.
func bombProof() []byte {
	_, _, g1, g2 := curve.Generators() // Ar, Bs, Krs: valid points, so that gnark reads on
	a, b := g1.Bytes(), g2.Bytes()
	p := append(append(append([]byte(nil), a[:]...), b[:]...), a[:]...)
	return binary.BigEndian.AppendUint32(p, 0xffffffff)
}

// TestBombSuccinct: the succinct bundle of finding 2 (the proof's count
// field says 2³²−1 commitments), signed by its sender, is refused as
// malformed by every path that reaches gnark's proof decoder.
func TestBombSuccinct(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	task := unitTask(1)
	s := &Succinct{Task: task, Roots: make([]fr.Element, 3), Proof: bombProof()}
	enc := s.Encode(key)
	t.Logf("bomb: %d bytes", len(enc))
	bounded(t, func() {
		_, err := DecodeSuccinct(enc)
		require.ErrorIs(t, err, ErrFormat)
		// A bundle built in memory, never decoded, reaches gnark through
		// Statement (VerifyMatMul) and ParseProof (VerifyStep).
		_, _, err = s.Statement()
		require.ErrorIs(t, err, ErrFormat)
		_, err = ParseProof(s.Proof)
		require.ErrorIs(t, err, ErrFormat)
	})
}

// TestProofLayout: the bomb and its variants are refused; the tiny
// circuit's real proofs (with and without a commitment) pass and verify.
func TestProofLayout(t *testing.T) {
	for _, commit := range []bool{false, true} {
		ts := tiny(t, commit)
		require.NoError(t, checkProof(ts.proof))
		p, err := ParseProof(ts.proof)
		require.NoError(t, err)
		vk, err := readVK(ts.vk)
		require.NoError(t, err)
		pub, err := witness.New(ecc.BN254.ScalarField())
		require.NoError(t, err)
		require.NoError(t, pub.UnmarshalBinary(ts.pub))
		require.NoError(t, groth16.Verify(p, vk, pub))
	}
	good := tiny(t, true).proof
	count := 2*g1Size + g2Size
	p, err := ParseProof(good)
	require.NoError(t, err)
	var raw bytes.Buffer
	_, err = p.WriteRawTo(&raw)
	require.NoError(t, err)
	// An uncompressed first point moves every offset after it: the count
	// gnark reads is not the one the layout check read.
	shifted := append(bytes.Clone(raw.Bytes()[:2*g1Size]), good[g1Size:]...)
	cases := map[string][]byte{
		"bomb":            bombProof(),
		"count 2³²−1":     patch(good, count, 0xffffffff, 4),
		"count 2":         patch(good, count, 2, 4),
		"count 0":         patch(good, count, 0, 4),
		"truncated":       good[:len(good)-1],
		"trailing byte":   append(bytes.Clone(good), 0),
		"empty":           nil,
		"uncompressed":    raw.Bytes(),
		"uncompressed Ar": shifted[:len(good)],
		"flag bits 00":    append([]byte{good[0] & 0x3f}, good[1:]...),
	}
	for name, b := range cases {
		bounded(t, func() {
			_, err := ParseProof(b)
			require.ErrorIs(t, err, ErrFormat, name)
		})
	}
}

// vkOffsets are where a compressed verifying key's counts are: K's count,
// then (after k points) the committed-inputs count.
const vkKCount = 3*g1Size + 3*g2Size

// TestVKLayout: real verifying keys pass; counts set to huge values,
// committed-input indices that would make gnark's Verify index out of
// range, uncompressed points and stray bytes are refused, by the layout
// check and through ParseVK's envelope, within the allocation limit.
func TestVKLayout(t *testing.T) {
	plain, committed := tiny(t, false).vk, tiny(t, true).vk
	for _, vk := range [][]byte{plain, committed} {
		require.NoError(t, checkVK(vk))
	}
	k := int(binary.BigEndian.Uint32(committed[vkKCount:]))
	cc := vkKCount + 4 + k*g1Size // committed-inputs count
	require.Equal(t, uint32(1), binary.BigEndian.Uint32(committed[cc:]))
	m := int(binary.BigEndian.Uint32(committed[cc+4:]))
	require.Positive(t, m, "the tiny circuit commits to a public input")
	nc := cc + 8 + 8*m // commitment-keys count
	cases := map[string][]byte{
		"K count 2³²−1":            patch(plain, vkKCount, 0xffffffff, 4),
		"K count one too many":     patch(plain, vkKCount, uint64(binary.BigEndian.Uint32(plain[vkKCount:]))+1, 4),
		"committed count 2³²−1":    patch(committed, cc, 0xffffffff, 4),
		"committed count 2":        patch(committed, cc, 2, 4),
		"inner count 2³²−1":        patch(committed, cc+4, 0xffffffff, 4),
		"committed input 0":        patch(committed, cc+8, 0, 8),
		"committed input too high": patch(committed, cc+8, uint64(k), 8),
		"commitment keys 2³²−1":    patch(committed, nc, 0xffffffff, 4),
		"commitment keys 0":        patch(committed, nc, 0, 4),
		"uncompressed α":           append([]byte{plain[0] & 0x3f}, plain[1:]...),
		"truncated":                plain[:len(plain)-1],
		"trailing":                 append(bytes.Clone(plain), 0),
		"empty":                    nil,
	}
	for name, b := range cases {
		bounded(t, func() {
			require.Error(t, checkVK(b), name)
			_, err := readVK(b)
			require.ErrorIs(t, err, ErrKey, name)
			_, _, err = ParseVK(sealKey("TPVK", keyVersion, KeyOrigin{}, encodeMatMulShape(testShape), b))
			require.ErrorIs(t, err, ErrKey, name)
		})
	}

	// What the index check prevents: gnark decodes such a key, and its
	// Verify panics on the first proof.
	ts := tiny(t, true)
	vk := groth16.NewVerifyingKey(ecc.BN254)
	_, err := vk.ReadFrom(bytes.NewReader(cases["committed input 0"]))
	require.NoError(t, err)
	p, err := ParseProof(ts.proof)
	require.NoError(t, err)
	pub, err := witness.New(ecc.BN254.ScalarField())
	require.NoError(t, err)
	require.NoError(t, pub.UnmarshalBinary(ts.pub))
	require.Panics(t, func() { groth16.Verify(p, vk, pub) })
}

// TestPKLayout: real proving keys pass against their circuit; a wire
// count, domain or slice count set to a huge value, a key for another
// circuit and stray bytes are refused before gnark allocates.
func TestPKLayout(t *testing.T) {
	for _, commit := range []bool{false, true} {
		ts := tiny(t, commit)
		s := pkShapeOf(ts.ccs)
		require.NoError(t, checkPK(ts.pk, s))
		_, err := readPK(ts.pk, ts.ccs)
		require.NoError(t, err)
		const aCount = 8 + 5*32 + 1 + 3*g1Size
		// The wire count comes after A, B, Z, K and the G2 points.
		w := &walker{b: ts.pk}
		w.take(aCount)
		for range 4 {
			w.points(w.count(1<<32, g1Size), g1Size)
		}
		w.points(2, g2Size)
		w.points(w.count(1<<32, g2Size), g2Size)
		wires := w.off
		require.Equal(t, s.wires, w.u64())
		other := s
		other.wires++
		cases := map[string][]byte{
			"domain 2⁶³":     patch(ts.pk, 0, 1<<63, 8),
			"A count 2³²−1":  patch(ts.pk, aCount, 0xffffffff, 4),
			"wires 2⁶⁴−1":    patch(ts.pk, wires, 1<<64-1, 8),
			"infinity 2⁶⁴−1": patch(ts.pk, wires+8, 1<<64-1, 8),
			"truncated":      ts.pk[:len(ts.pk)-1],
			"trailing":       append(bytes.Clone(ts.pk), 0),
		}
		for name, b := range cases {
			bounded(t, func() {
				require.Error(t, checkPK(b, s), name)
				_, err := readPK(b, ts.ccs)
				require.ErrorIs(t, err, ErrKey, name)
			})
		}
		require.Error(t, checkPK(ts.pk, other), "a key for another circuit")
	}
}

// TestPhaseLayout: the phase files' sizes follow from the domain, and a
// phase-1 file whose domain says 2⁶⁴−1 (the 296-byte contribution of
// finding 2) or phase-2 counts set to huge values are refused.
func TestPhaseLayout(t *testing.T) {
	for _, commit := range []bool{false, true} {
		c := tinyCeremony(t, commit)
		_, err := c.Contribute()
		require.NoError(t, err)
		n, r1cs, err := c.circuitOf()
		require.NoError(t, err)
		start, err := os.ReadFile(c.path("phase1/0000.bin"))
		require.NoError(t, err)
		contrib, err := os.ReadFile(c.path("phase1/0001.bin"))
		require.NoError(t, err)
		require.EqualValues(t, phase1Size(n, 0), len(start))
		require.EqualValues(t, phase1Size(n, 32), len(contrib))
		require.NoError(t, checkPhase1(contrib, n, 32))
		bomb := patch(contrib[:3*(g1Size+g2Size)+8], 3*(g1Size+g2Size), 1<<64-1, 8)
		require.Len(t, bomb, 296)
		for name, b := range map[string][]byte{
			"296-byte bomb": bomb,
			"domain 2⁶⁴−1":  patch(contrib, 3*(g1Size+g2Size), 1<<64-1, 8),
			"domain 2n":     patch(contrib, 3*(g1Size+g2Size), 2*n, 8),
			"no challenge":  patch(contrib, len(contrib)-33, 0, 1),
		} {
			bounded(t, func() {
				_, err := decodePhase1(name, b, n, true)
				require.ErrorIs(t, err, ErrCeremony, name)
			})
		}

		require.NoError(t, c.SealPhase1With(testBeacon(1)))
		_, err = c.Contribute()
		require.NoError(t, err)
		p2, err := os.ReadFile(c.path("phase2/0001.bin"))
		require.NoError(t, err)
		s := pkShapeOf(r1cs)
		l, err := walkPhase2(p2, s.wires, s.commitments)
		require.NoError(t, err)
		require.Equal(t, n-1, l.z)
		require.EqualValues(t, 32, l.challenge)
		pkkAt := 2 + g1Size
		zAt := pkkAt + 4 + int(l.pkk)*g1Size
		for name, b := range map[string][]byte{
			"commitments 2¹⁶−1": patch(p2, 0, 0xffff, 2),
			"PKK count 2³²−1":   patch(p2, pkkAt, 0xffffffff, 4),
			"Z count 2³²−1":     patch(p2, zAt, 0xffffffff, 4),
			"Z count n":         patch(p2, zAt, n, 4),
			"truncated":         p2[:len(p2)-1],
		} {
			bounded(t, func() {
				_, err := decodePhase2(name, b, r1cs, n, true, nil)
				require.ErrorIs(t, err, ErrCeremony, name)
			})
		}
		if commit {
			ckkAt := zAt + 4 + int(l.z)*g1Size + g2Size
			bounded(t, func() {
				_, err := decodePhase2("σCKK", patch(p2, ckkAt, 0xffffffff, 4), r1cs, n, true, nil)
				require.ErrorIs(t, err, ErrCeremony)
			})
		}
	}
}

// TestCeremonyShapeBomb: a ceremony directory of a few bytes that names a
// huge matmul circuit is refused before the circuit is compiled: by the
// shape's limits, by the domain cap, or because phase1/0000.bin is smaller
// than the initial state of the smallest domain the shape can have.
func TestCeremonyShapeBomb(t *testing.T) {
	for name, tc := range map[string]struct {
		shape string
		p1    int64
	}{
		"beyond the shape limits": {"65536 65536 65536 1024", 1 << 20},
		"beyond the domain cap":   {"1024 1024 1024 64", 1 << 20},
		"a small phase-1 file":    {"1024 1024 1024 8", 1 << 20},
		"one byte short (sparse)": {"1024 1024 1024 8", phase1Size(1<<22, 0) - 1},
	} {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "phase1"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "ceremony"), []byte(ceremonyHeader+" "+tc.shape+"\n"), 0o644))
		f, err := os.Create(filepath.Join(dir, "phase1", "0000.bin"))
		require.NoError(t, err)
		require.NoError(t, f.Truncate(tc.p1))
		require.NoError(t, f.Close())
		bounded(t, func() {
			c, err := OpenCeremony(dir)
			if err != nil {
				return // refused by the shape's limits
			}
			_, err = c.Verify()
			require.ErrorIs(t, err, ErrCeremony, name)
			_, err = c.Contribute()
			require.ErrorIs(t, err, ErrCeremony, name)
		})
	}
}

// TestCeremonyBombs: bombs dropped into a ceremony directory are refused
// by Verify and Contribute with ErrCeremony, not by the runtime.
func TestCeremonyBombs(t *testing.T) {
	c := tinyCeremony(t, true)
	_, err := c.Contribute()
	require.NoError(t, err)
	good, err := os.ReadFile(c.path("phase1/0001.bin"))
	require.NoError(t, err)
	bomb := patch(good[:3*(g1Size+g2Size)+8], 3*(g1Size+g2Size), 1<<64-1, 8)
	require.NoError(t, os.WriteFile(c.path("phase1/0002.bin"), bomb, 0o644))
	bounded(t, func() {
		_, err := c.Verify()
		require.ErrorIs(t, err, ErrCeremony)
		_, err = c.Contribute()
		require.ErrorIs(t, err, ErrCeremony)
	})
	// A 1 GiB file (sparse) is refused by its size, unread.
	f, err := os.Create(c.path("phase1/0002.bin"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(1<<30))
	require.NoError(t, f.Close())
	bounded(t, func() {
		_, err := c.Verify()
		require.ErrorIs(t, err, ErrCeremony)
		_, err = c.Contribute()
		require.ErrorIs(t, err, ErrCeremony)
	})
}

func FuzzParseProof(f *testing.F) {
	f.Add(tiny(f, false).proof)
	f.Add(tiny(f, true).proof)
	f.Add(bombProof())
	f.Fuzz(func(t *testing.T, in []byte) {
		bounded(t, func() {
			p, err := ParseProof(in)
			if err == nil {
				require.Equal(t, in, mustBytes(p), "canonical")
			}
		})
	})
}

func FuzzReadVK(f *testing.F) {
	f.Add(tiny(f, false).vk)
	f.Add(tiny(f, true).vk)
	f.Fuzz(func(t *testing.T, in []byte) {
		bounded(t, func() {
			if vk, err := readVK(in); err == nil {
				require.Equal(t, in, mustBytes(vk), "canonical")
			}
			ParseVK(in)
			ParseStepVK(in)
		})
	})
}

func FuzzReadPK(f *testing.F) {
	plain, committed := tiny(f, false), tiny(f, true)
	f.Add(false, plain.pk)
	f.Add(true, committed.pk)
	f.Fuzz(func(t *testing.T, commit bool, in []byte) {
		ccs := plain.ccs
		if commit {
			ccs = committed.ccs
		}
		bounded(t, func() { readPK(in, ccs) })
	})
}

// phaseSeeds runs a tiny ceremony to its second phase-2 contribution and
// returns its files.
func phaseSeeds(f *testing.F) (c *Ceremony, files [][]byte) {
	c = tinyCeremony(f, true)
	for range 2 {
		_, err := c.Contribute()
		require.NoError(f, err)
	}
	require.NoError(f, c.SealPhase1With(testBeacon(1)))
	_, err := c.Contribute()
	require.NoError(f, err)
	for _, name := range []string{"phase1/0000.bin", "phase1/0001.bin", "phase2/0000.bin", "phase2/0001.bin"} {
		b, err := os.ReadFile(c.path(name))
		require.NoError(f, err)
		files = append(files, b)
	}
	return c, files
}

func FuzzPhase1(f *testing.F) {
	c, files := phaseSeeds(f)
	n, _, err := c.circuitOf()
	require.NoError(f, err)
	f.Add(false, files[0])
	f.Add(true, files[1])
	f.Fuzz(func(t *testing.T, contribution bool, in []byte) {
		bounded(t, func() { decodePhase1("fuzz", in, n, contribution) })
	})
}

func FuzzPhase2(f *testing.F) {
	c, files := phaseSeeds(f)
	n, r1cs, err := c.circuitOf()
	require.NoError(f, err)
	f.Add(false, files[2])
	f.Add(true, files[3])
	f.Fuzz(func(t *testing.T, contribution bool, in []byte) {
		bounded(t, func() { decodePhase2("fuzz", in, r1cs, n, contribution, nil) })
	})
}
