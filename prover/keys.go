package prover

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

const keyHeader = "trainproof ed25519 private key v1"

// GenerateKey writes a new ed25519 key to path (mode 0600, never
// overwriting) and its public key, in hex, to path+".pub".
func GenerateKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(f, "%s\n%x\n", keyHeader, priv.Seed()); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path+".pub", []byte(hex.EncodeToString(pub)+"\n"), 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}

// ReadKey reads a key written by GenerateKey.
func ReadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(string(b))
	if len(b) > 4096 || !strings.HasPrefix(string(b), keyHeader+"\n") || len(lines) == 0 {
		return nil, fmt.Errorf("prover: %s is not a trainproof key", path)
	}
	seed, err := hex.DecodeString(lines[len(lines)-1])
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("prover: %s is not a trainproof key", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
