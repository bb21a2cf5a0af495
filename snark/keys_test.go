package snark

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/model"
)

func tinyVK(t testing.TB) groth16.VerifyingKey {
	vk := groth16.NewVerifyingKey(ecc.BN254)
	_, err := vk.ReadFrom(bytes.NewReader(tiny(t, false).vk))
	require.NoError(t, err)
	return vk
}

// reseal rewrites an envelope's header byte at off and its checksum.
func reseal(in []byte, off int, v byte) []byte {
	b := bytes.Clone(in[:len(in)-32])
	b[off] = v
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// TestKeyOrigin: development keys say so in their envelope (origin byte 1,
// no transcript), ceremony keys carry their transcript hash (origin byte
// 2); readers expose it, a node refuses development keys unless allowed,
// and envelopes whose origin byte and transcript disagree, or of
// version 1 (which said nothing), are refused.
func TestKeyOrigin(t *testing.T) {
	step := StepShape{Config: model.DefaultConfig(), Samples: 4}
	for _, k := range []interface {
		MarshalVK() ([]byte, error)
		IsDev() bool
	}{&Keys{Shape: testShape, VK: tinyVK(t)}, &StepKeys{Shape: step, VK: tinyVK(t)}} {
		dev, err := k.MarshalVK()
		require.NoError(t, err)
		require.True(t, k.IsDev())
		require.Equal(t, []byte{0, 3, 1, 1}, dev[4:8], "version 3, BN254, development")
		require.Equal(t, make([]byte, 32), dev[8:40])
		o, err := KeyOriginOf(dev)
		require.NoError(t, err)
		require.True(t, o.IsDev())
		require.ErrorIs(t, o.Check(false), ErrDevKey)
		require.NoError(t, o.Check(true))

		tr := sha256.Sum256([]byte("a transcript"))
		switch k := k.(type) {
		case *Keys:
			k.Origin.Transcript = tr
			_, _, err = ParseVK(dev)
		case *StepKeys:
			k.Origin.Transcript = tr
			_, _, err = ParseStepVK(dev)
		}
		require.NoError(t, err)
		require.False(t, k.IsDev())
		cer, err := k.MarshalVK()
		require.NoError(t, err)
		require.Equal(t, byte(2), cer[7])
		require.Equal(t, tr[:], cer[8:40])
		o, err = KeyOriginOf(cer)
		require.NoError(t, err)
		require.Equal(t, KeyOrigin{Transcript: tr}, o)
		require.NoError(t, o.Check(false))

		for name, b := range map[string][]byte{
			"ceremony byte, no transcript": reseal(dev, 7, 2),
			"dev byte with a transcript":   reseal(cer, 7, 1),
			"unknown origin":               reseal(cer, 7, 3),
			"version 1":                    reseal(dev, 5, 1),
			"version 2":                    reseal(dev, 5, 2),
		} {
			_, err := KeyOriginOf(b)
			require.ErrorIs(t, err, ErrKey, name)
		}
		_, err = KeyOriginOf(reseal(dev, 5, 1))
		require.ErrorContains(t, err, "make them again")
	}
	_, err := KeyOriginOf([]byte("TPXK"))
	require.ErrorIs(t, err, ErrKey)
}

// TestWriteKeyFile: key files are created with mode 0600, never over an
// existing file, never through a symbolic link (to a file or dangling).
func TestWriteKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k.vk")
	require.NoError(t, WriteKeyFile(p, []byte("key")))
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), st.Mode().Perm())
	require.ErrorIs(t, WriteKeyFile(p, []byte("other")), fs.ErrExist)

	target := filepath.Join(dir, "target")
	require.NoError(t, os.WriteFile(target, []byte("precious"), 0o644))
	link := filepath.Join(dir, "link.vk")
	require.NoError(t, os.Symlink(target, link))
	require.Error(t, WriteKeyFile(link, []byte("key")))
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "precious", string(b))

	dangling := filepath.Join(dir, "dangling.vk")
	require.NoError(t, os.Symlink(filepath.Join(dir, "nowhere"), dangling))
	require.Error(t, WriteKeyFile(dangling, []byte("key")))
	_, err = os.Stat(filepath.Join(dir, "nowhere"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// TestLoadProverChecked: a proving key's origin survives the file; a key
// whose wire count says 2⁶⁴−1 is refused before gnark allocates.
func TestLoadProverChecked(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	k := *testKeys(t)
	k.Origin.Transcript = sha256.Sum256([]byte("a transcript"))
	pkb, err := k.MarshalPK()
	require.NoError(t, err)
	dir := t.TempDir()
	p := filepath.Join(dir, "matmul.pk")
	require.NoError(t, WriteKeyFile(p, pkb))
	k2, err := LoadProver(p)
	require.NoError(t, err)
	require.Equal(t, k.Origin, k2.Origin)

	// The wire count sits after the domain, three G1 points, A, B, Z, K
	// and the G2 points.
	_, _, body, err := openKey("TPPK", keyVersion, pkb, MaxProvingKey)
	require.NoError(t, err)
	w := &walker{b: body}
	w.take(8 + 5*32 + 1 + 3*g1Size)
	for range 4 {
		w.points(w.count(1<<32, g1Size), g1Size)
	}
	w.points(2, g2Size)
	w.points(w.count(1<<32, g2Size), g2Size)
	require.NoError(t, w.err)
	bad := bytes.Clone(body)
	binary.BigEndian.PutUint64(bad[w.off:], 1<<64-1)
	q := filepath.Join(dir, "bomb.pk")
	require.NoError(t, WriteKeyFile(q, sealKey("TPPK", keyVersion, k.Origin, encodeMatMulShape(k.Shape), bad)))
	_, err = LoadProver(q)
	require.ErrorIs(t, err, ErrKey)
	bounded(t, func() { // LoadProver compiles the circuit first, which takes more
		_, err := readPK(bad, k.CS)
		require.ErrorIs(t, err, ErrKey)
	})
}
