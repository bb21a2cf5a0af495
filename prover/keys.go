package prover

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/seed46f70faa/trainproof/internal/safefile"
)

// The miner's key file, v2:
//
//	trainproof ed25519 private key v2
//	seed 64-HEX-DIGITS
//	public 64-HEX-DIGITS
//	checksum 8-HEX-DIGITS
//
// The checksum is the first four bytes of SHA-256 over the three lines
// before it (newlines included), and the public key must be the seed's: a
// flipped digit anywhere is refused with ErrKeyDamaged instead of silently
// becoming another identity. v1 files (the header, then the seed alone) are
// still read; they carry no checksum.
const (
	keyHeaderV1 = "trainproof ed25519 private key v1"
	keyHeaderV2 = "trainproof ed25519 private key v2"
	maxKeyFile  = 4096
)

// ErrKeyDamaged reports a key file whose checksum or public key does not
// match its seed.
var ErrKeyDamaged = errors.New("prover: key file damaged")

// EncodeKey returns the v2 key file of key.
func EncodeKey(key ed25519.PrivateKey) []byte {
	body := fmt.Sprintf("%s\nseed %x\npublic %x\n", keyHeaderV2, key.Seed(), key.Public())
	sum := sha256.Sum256([]byte(body))
	return fmt.Appendf([]byte(body), "checksum %x\n", sum[:4])
}

// ParseKey reads a key file; legacy reports a v1 file, which has no checksum.
func ParseKey(b []byte) (key ed25519.PrivateKey, legacy bool, err error) {
	if len(b) > maxKeyFile {
		return nil, false, errors.New("prover: not a trainproof key file (too large)")
	}
	s := string(b)
	if rest, ok := strings.CutPrefix(s, keyHeaderV1+"\n"); ok {
		seed, err := hex.DecodeString(strings.TrimSpace(rest))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, true, errors.New("prover: not a trainproof key file (v1: want 64 hex digits after the header)")
		}
		return ed25519.NewKeyFromSeed(seed), true, nil
	}
	if !strings.HasPrefix(s, keyHeaderV2+"\n") {
		return nil, false, errors.New("prover: not a trainproof key file (no trainproof key header)")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) != 4 {
		return nil, false, fmt.Errorf("%w: want 4 lines, found %d", ErrKeyDamaged, len(lines))
	}
	field := func(line, name string, n int) ([]byte, error) {
		v, ok := strings.CutPrefix(line, name+" ")
		d, err := hex.DecodeString(v)
		if !ok || err != nil || len(d) != n {
			return nil, fmt.Errorf("%w: line %q is not %q and %d hex digits", ErrKeyDamaged, line, name, 2*n)
		}
		return d, nil
	}
	sum, err := field(lines[3], "checksum", 4)
	if err != nil {
		return nil, false, err
	}
	body := strings.Join(lines[:3], "\n") + "\n"
	if want := sha256.Sum256([]byte(body)); !bytes.Equal(sum, want[:4]) {
		return nil, false, fmt.Errorf("%w: checksum %x does not match its contents (%x): a digit was changed", ErrKeyDamaged, sum, want[:4])
	}
	seed, err := field(lines[1], "seed", ed25519.SeedSize)
	if err != nil {
		return nil, false, err
	}
	pub, err := field(lines[2], "public", ed25519.PublicKeySize)
	if err != nil {
		return nil, false, err
	}
	key = ed25519.NewKeyFromSeed(seed)
	if !bytes.Equal(key.Public().(ed25519.PublicKey), pub) {
		return nil, false, fmt.Errorf("%w: the seed does not give the public key written beside it", ErrKeyDamaged)
	}
	return key, false, nil
}

// ReadKey reads a key file written by GenerateKey (or a v1 one, which has
// no checksum: ReadKeyFile says which).
func ReadKey(path string) (ed25519.PrivateKey, error) {
	key, _, err := ReadKeyFile(path)
	return key, err
}

// ReadKeyFile is ReadKey, and reports a v1 file (no checksum) as legacy.
func ReadKeyFile(path string) (key ed25519.PrivateKey, legacy bool, err error) {
	b, err := safefile.ReadFile(path, maxKeyFile)
	if err != nil {
		return nil, false, err
	}
	key, legacy, err = ParseKey(b)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return key, legacy, nil
}

// GenerateKey writes a new ed25519 key to path (v2, with its checksum) and
// its public key, in hex, to path+".pub". Both files are created before
// either is written, with O_EXCL (never over an existing file, never through
// a symbolic link, even a dangling one) and mode 0600; if either cannot be
// created or written, neither is left behind.
func GenerateKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	paths := []string{path, path + ".pub"}
	data := [][]byte{EncodeKey(priv), []byte(hex.EncodeToString(pub) + "\n")}
	var files []*os.File
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			for _, f := range files {
				f.Close()
				os.Remove(f.Name())
			}
			return nil, err
		}
		files = append(files, f)
	}
	var errs []error
	for i, f := range files {
		_, werr := f.Write(data[i])
		errs = append(errs, werr, f.Close())
	}
	if err := errors.Join(errs...); err != nil {
		for _, p := range paths {
			os.Remove(p)
		}
		return nil, err
	}
	return pub, nil
}
