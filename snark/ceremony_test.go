package snark

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/frontend"
	"github.com/stretchr/testify/require"
)

// testBeacon is a beacon with a recorded source.
func testBeacon(i int) Beacon {
	return Beacon{Value: fmt.Appendf(nil, "test beacon value %d", i), Source: fmt.Sprintf("test round %d", i)}
}

// tinyCeremony starts a ceremony for tinyCircuit, whose domain is a few
// points: every step takes milliseconds.
func tinyCeremony(t testing.TB, commit bool) *Ceremony {
	c, err := initCeremony(&Ceremony{Dir: t.TempDir(), circuit: &tinyCircuit{commit: commit}}, ceremonyHeader+" test\n")
	require.NoError(t, err)
	return c
}

// copyCeremony copies a ceremony directory, to attack the copy.
func copyCeremony(t *testing.T, c *Ceremony) *Ceremony {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(c.Dir)))
	d := *c
	d.Dir = dir
	return &d
}

func contribute(t *testing.T, c *Ceremony, n int) {
	for range n {
		_, err := c.Contribute()
		require.NoError(t, err)
	}
}

// honestCeremony: two contributors per phase, phase 1 sealed, not
// finalized.
func honestCeremony(t *testing.T) *Ceremony {
	c := tinyCeremony(t, true)
	contribute(t, c, 2)
	require.NoError(t, c.SealPhase1With(testBeacon(1)))
	contribute(t, c, 2)
	return c
}

// TestCeremony: two contributors per phase of the (smallest) matmul
// circuit, sealed with recorded beacons; the keys carry the transcript
// hash, prove and verify a unit; a tampered contribution is refused. Each
// re-derivation of phase 2's start costs seconds at this circuit's domain
// (2¹³ points), so the swaps a coordinator can make are played on a tiny
// circuit (TestCeremonyDishonestCoordinator), through the same code.
func TestCeremony(t *testing.T) {
	if testing.Short() {
		t.Skip("ceremony")
	}
	shape := MatMulShape{M: 2, K: 2, N: 1, S: 1}
	dir := t.TempDir()
	c, err := InitCeremony(dir, shape)
	require.NoError(t, err)
	contribute(t, c, 2)
	require.Equal(t, 1, c.Phase())
	n1, err := c.Verify()
	require.NoError(t, err)
	require.Equal(t, 2, n1)
	require.ErrorIs(t, c.SealPhase1([]byte("short")), ErrBeacon)
	require.NoError(t, c.SealPhase1With(testBeacon(1)))
	c2, err := OpenCeremony(dir)
	require.NoError(t, err)
	require.Equal(t, 2, c2.Phase())
	contribute(t, c2, 2)
	k, err := c2.FinalizeWith(testBeacon(2))
	require.NoError(t, err)
	require.False(t, k.IsDev())
	tr, err := c2.Transcript()
	require.NoError(t, err)
	require.Equal(t, tr.Hash, k.Origin.Transcript)
	vkb, err := k.MarshalVK()
	require.NoError(t, err)
	o, err := KeyOriginOf(vkb)
	require.NoError(t, err)
	require.Equal(t, k.Origin, o)
	_, vk, err := ParseVK(vkb)
	require.NoError(t, err)

	task := unitTask(5)
	task.Samples = 1
	task.MatMul.M, task.MatMul.K, task.MatMul.N = 2, 2, 1
	a, b, cm := operands(task)
	enc, err := ProveMatMul(k, task, a, b, cm, ed25519.NewKeyFromSeed(make([]byte, 32)))
	require.NoError(t, err)
	s, err := DecodeSuccinct(enc)
	require.NoError(t, err)
	require.NoError(t, VerifyMatMul(s, k.Shape, vk))

	// A contribution tampered with after the fact breaks the chain.
	f := filepath.Join(dir, "phase2", "0002.bin")
	raw, err := os.ReadFile(f)
	require.NoError(t, err)
	raw[len(raw)/2] ^= 1
	require.NoError(t, os.WriteFile(f, raw, 0o644))
	_, err = c2.Verify()
	require.ErrorIs(t, err, ErrCeremony)
}

// TestCeremonyTiny: the whole flow on a circuit with a commitment (as the
// step circuit has), the keys proving and verifying; finalizing again with
// the same beacon gives the same keys, with another is refused; nothing is
// added once finalized.
func TestCeremonyTiny(t *testing.T) {
	c := honestCeremony(t)
	n, err := c.Verify()
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, err = c.FinalizeWith(Beacon{Value: []byte("0123456789abcdef"), Source: "two\nlines"})
	require.ErrorIs(t, err, ErrBeacon)
	k, err := c.finalizeTiny(testBeacon(2))
	require.NoError(t, err)
	ts := tiny(t, true)
	w, err := frontend.NewWitness(&tinyCircuit{X: 6, Y: 5, A: 2, B: 3}, ecc.BN254.ScalarField())
	require.NoError(t, err)
	proof, err := groth16.Prove(ts.ccs, k.pk, w)
	require.NoError(t, err)
	pub, err := w.Public()
	require.NoError(t, err)
	require.NoError(t, groth16.Verify(proof, k.vk, pub))
	// The keys' encodings pass the layout checks.
	require.NoError(t, checkVK(mustBytes(k.vk)))
	require.NoError(t, checkPK(mustBytes(k.pk), pkShapeOf(ts.ccs)))

	again, err := c.finalizeTiny(testBeacon(2))
	require.NoError(t, err)
	require.Equal(t, mustBytes(k.vk), mustBytes(again.vk), "finalize is deterministic")
	// The published key is checked against the transcript, not by the
	// hash it carries: a development key, or one that names this
	// transcript but comes from elsewhere, is refused.
	vkFile := (&Keys{VK: k.vk, Origin: k.origin}).marshalVKAs(c.Shape)
	require.NoError(t, c.CheckVK(vkFile))
	dev := (&Keys{VK: k.vk}).marshalVKAs(c.Shape)
	require.ErrorIs(t, c.CheckVK(dev), ErrCeremony)
	other := tinyCeremony(t, true)
	contribute(t, other, 1)
	require.NoError(t, other.SealPhase1With(testBeacon(1)))
	contribute(t, other, 1)
	ko, err := other.finalizeTiny(testBeacon(2))
	require.NoError(t, err)
	forged := (&Keys{VK: ko.vk, Origin: k.origin}).marshalVKAs(c.Shape)
	require.ErrorIs(t, c.CheckVK(forged), ErrCeremony)
	require.Equal(t, k.origin, again.origin)
	_, err = c.finalizeTiny(testBeacon(3))
	require.ErrorIs(t, err, ErrCeremony, "sealed with another beacon")
	_, err = c.Contribute()
	require.ErrorIs(t, err, ErrCeremony, "finalized")
	r, err := c.Audit()
	require.NoError(t, err)
	require.True(t, r.Finalized)
	require.Equal(t, testBeacon(2), *r.Beacons[1])
	require.Equal(t, k.origin.Transcript, r.Transcript.Hash)
}

type tinyKeysOut struct {
	pk     groth16.ProvingKey
	vk     groth16.VerifyingKey
	origin KeyOrigin
}

func (k *Keys) marshalVKAs(s MatMulShape) []byte {
	k.Shape = s
	b, err := k.MarshalVK()
	if err != nil {
		panic(err)
	}
	return b
}

func (c *Ceremony) finalizeTiny(b Beacon) (*tinyKeysOut, error) {
	_, pk, vk, o, err := c.finalize(b)
	if err != nil {
		return nil, err
	}
	return &tinyKeysOut{pk, vk, o}, nil
}

// TestCeremonyDishonestCoordinator plays the coordinator who holds the
// directory between contributors and edits it: every swap is refused, by
// Verify and by Finalize, though each leaves a chain that is consistent
// from the swapped file on.
func TestCeremonyDishonestCoordinator(t *testing.T) {
	honest := honestCeremony(t)
	// The coordinator's own ceremony for the same circuit: a phase-1
	// result and phase-2 start it made (and, in an attack, knows the
	// randomness of).
	evil := tinyCeremony(t, true)
	contribute(t, evil, 1)
	require.NoError(t, evil.SealPhase1With(testBeacon(1)))
	contribute(t, evil, 1)
	read := func(c *Ceremony, name string) []byte {
		b, err := os.ReadFile(c.path(name))
		require.NoError(t, err)
		return b
	}
	write := func(c *Ceremony, name string, b []byte) {
		require.NoError(t, os.WriteFile(c.path(name), b, 0o644))
	}
	remove := func(c *Ceremony, names ...string) {
		for _, n := range names {
			require.NoError(t, os.Remove(c.path(n)))
		}
	}
	attacks := []struct {
		name, why string
		edit      func(c *Ceremony)
	}{
		{"swapped phase-1 result", "commons.bin", func(c *Ceremony) {
			// commons.bin and the phase-2 start derived from it, with the
			// phase-2 contributions made again on top.
			write(c, "commons.bin", read(evil, "commons.bin"))
			write(c, "phase2/0000.bin", read(evil, "phase2/0000.bin"))
			remove(c, "phase2/0001.bin", "phase2/0002.bin")
			contribute(t, c, 2)
		}},
		{"swapped phase-2 start", "phase2/0000.bin", func(c *Ceremony) {
			write(c, "phase2/0000.bin", read(evil, "phase2/0000.bin"))
			remove(c, "phase2/0001.bin", "phase2/0002.bin")
			contribute(t, c, 2)
		}},
		{"swapped phase-1 start", "phase1/0000.bin", func(c *Ceremony) {
			// A start whose τ, α, β the coordinator chose; the phase-1
			// contributions made again on top, and phase 1 sealed again.
			n, r1cs, err := c.circuitOf()
			require.NoError(t, err)
			p, err := readPhase1(evil.path("phase1/0001.bin"), n, true)
			require.NoError(t, err)
			p.Challenge = nil
			p2, err := decodePhase1("evil", mustBytes(p), n, false)
			require.NoError(t, err)
			remove(c, "phase1/0000.bin", "phase1/0001.bin", "phase1/0002.bin", "beacon1", "commons.bin",
				"phase2/0000.bin", "phase2/0001.bin", "phase2/0002.bin")
			write(c, "phase1/0000.bin", mustBytes(p2))
			contribute(t, c, 2)
			// SealPhase1 checks the start, so the coordinator seals by hand.
			last, err := readPhase1(c.path("phase1/0002.bin"), n, true)
			require.NoError(t, err)
			commons := last.Seal(testBeacon(1).Value)
			write(c, "beacon1", testBeacon(1).encode())
			write(c, "commons.bin", mustBytes(&commons))
			var start mpcsetup.Phase2
			start.Initialize(r1cs, &commons)
			write(c, "phase2/0000.bin", mustBytes(&start))
			contribute(t, c, 2)
		}},
		{"another beacon recorded", "commons.bin", func(c *Ceremony) {
			write(c, "beacon1", testBeacon(7).encode())
		}},
		{"beacon not recorded", "beacon1", func(c *Ceremony) { remove(c, "beacon1") }},
		{"phase-2 contribution replayed", "phase 2 contribution 2", func(c *Ceremony) {
			write(c, "phase2/0002.bin", read(c, "phase2/0001.bin"))
		}},
		{"phase-2 contributions reordered", "phase 2 contribution 1", func(c *Ceremony) {
			a, b := read(c, "phase2/0001.bin"), read(c, "phase2/0002.bin")
			write(c, "phase2/0001.bin", b)
			write(c, "phase2/0002.bin", a)
		}},
		{"phase-1 contribution replayed", "phase 1 contribution 2", func(c *Ceremony) {
			write(c, "phase1/0002.bin", read(c, "phase1/0001.bin"))
		}},
		{"phase-1 contributions reordered", "phase 1 contribution 1", func(c *Ceremony) {
			a, b := read(c, "phase1/0001.bin"), read(c, "phase1/0002.bin")
			write(c, "phase1/0001.bin", b)
			write(c, "phase1/0002.bin", a)
		}},
		{"contribution from another ceremony", "phase 2 contribution 3", func(c *Ceremony) {
			write(c, "phase2/0003.bin", read(evil, "phase2/0001.bin"))
		}},
		{"phase-1 contribution dropped from the middle", "phase 1 contribution 1", func(c *Ceremony) {
			write(c, "phase1/0001.bin", read(c, "phase1/0002.bin"))
			remove(c, "phase1/0002.bin")
		}},
		{"a gap in the numbering", "0003.bin where 0002.bin belongs", func(c *Ceremony) {
			require.NoError(t, os.Rename(c.path("phase2/0002.bin"), c.path("phase2/0003.bin")))
		}},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			c := copyCeremony(t, honest)
			a.edit(c)
			_, err := c.Verify()
			require.ErrorIs(t, err, ErrCeremony)
			require.ErrorContains(t, err, a.why)
			_, err = c.finalizeTiny(testBeacon(2))
			require.ErrorIs(t, err, ErrCeremony)
			require.ErrorContains(t, err, a.why)
			_, err = os.Stat(c.path("beacon2"))
			require.ErrorIs(t, err, fs.ErrNotExist, "nothing sealed")
		})
	}
	// The honest transcript, untouched, verifies.
	n, err := honest.Verify()
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

// TestTranscript: the hash covers every file, in order; a contributor finds
// the digest of their contribution in the list.
func TestTranscript(t *testing.T) {
	c := tinyCeremony(t, false)
	t0, err := c.Transcript()
	require.NoError(t, err)
	require.Equal(t, []string{"ceremony", "phase1/0000.bin"}, names(t0))
	mine, err := c.Contribute()
	require.NoError(t, err)
	b, err := os.ReadFile(mine)
	require.NoError(t, err)
	t1, err := c.Transcript()
	require.NoError(t, err)
	require.NotEqual(t, t0.Hash, t1.Hash)
	require.Equal(t, sha256.Sum256(b), t1.Files[2].SHA256, "the contributor's digest is listed")
	require.NoError(t, c.SealPhase1With(testBeacon(1)))
	contribute(t, c, 1)
	_, err = c.finalizeTiny(testBeacon(2))
	require.NoError(t, err)
	t2, err := c.Transcript()
	require.NoError(t, err)
	require.Equal(t, []string{"ceremony", "phase1/0000.bin", "phase1/0001.bin", "beacon1", "commons.bin",
		"phase2/0000.bin", "phase2/0001.bin", "beacon2"}, names(t2))
	again, err := c.Transcript()
	require.NoError(t, err)
	require.Equal(t, t2, again)
	// One flipped bit anywhere changes the hash.
	for _, f := range t2.Files {
		d := copyCeremony(t, c)
		raw, err := os.ReadFile(d.path(f.Name))
		require.NoError(t, err)
		raw[len(raw)-1] ^= 1
		require.NoError(t, os.WriteFile(d.path(f.Name), raw, 0o644))
		tr, err := d.Transcript()
		require.NoError(t, err)
		require.NotEqual(t, t2.Hash, tr.Hash, f.Name)
	}
}

func names(t Transcript) []string {
	var out []string
	for _, f := range t.Files {
		out = append(out, f.Name)
	}
	return out
}

// TestBeacon: beacon files round-trip in one canonical form; short values
// and sources that are not one printable line are refused.
func TestBeacon(t *testing.T) {
	b := testBeacon(1)
	got, err := decodeBeacon(b.encode())
	require.NoError(t, err)
	require.Equal(t, b, got)
	require.Equal(t, "trainproof beacon v1\nvalue 7465737420626561636f6e2076616c75652031\nsource test round 1\n", string(b.encode()))
	for name, in := range map[string][]byte{
		"uppercase hex": bytes.Replace(b.encode(), []byte("626561636f6e"), []byte("626561636F6E"), 1),
		"extra line":    append(b.encode(), '\n'),
		"short value":   Beacon{Value: []byte("short")}.encode(),
		"control char":  Beacon{Value: b.Value, Source: "a\tb"}.encode(),
	} {
		_, err := decodeBeacon(in)
		require.ErrorIs(t, err, ErrBeacon, name)
	}
	require.ErrorIs(t, Beacon{Value: b.Value, Source: "a\nb"}.validate(), ErrBeacon)
	require.NoError(t, Beacon{Value: b.Value}.validate(), "the source may be empty")
}
