package prover

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

const keyHeader = "trainproof ed25519 private key v1"

// maxKeyFile bounds what ReadKey reads.
const maxKeyFile = 4096

// GenerateKey writes a new ed25519 key to path and its public key, in
// hex, to path+".pub". Both files are created before either is written,
// with O_EXCL (never over an existing file, never through a symbolic link,
// even a dangling one) and mode 0600; if either cannot be created, neither
// is left behind.
func GenerateKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	files := []struct {
		path string
		data string
	}{
		{path, fmt.Sprintf("%s\n%x\n", keyHeader, priv.Seed())},
		{path + ".pub", hex.EncodeToString(pub) + "\n"},
	}
	var open []*os.File
	undo := func() {
		for _, f := range open {
			f.Close()
			os.Remove(f.Name())
		}
	}
	for _, k := range files {
		f, err := os.OpenFile(k.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			undo()
			return nil, err
		}
		open = append(open, f)
	}
	for i, k := range files {
		if _, err := io.WriteString(open[i], k.data); err != nil {
			undo()
			return nil, err
		}
	}
	var errs []error
	for _, f := range open {
		errs = append(errs, f.Close())
	}
	if err := errors.Join(errs...); err != nil {
		for _, k := range files {
			os.Remove(k.path)
		}
		return nil, err
	}
	return pub, nil
}

// ReadKey reads a key written by GenerateKey.
func ReadKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(string(b))
	if len(b) > maxKeyFile || !strings.HasPrefix(string(b), keyHeader+"\n") || len(lines) == 0 {
		return nil, fmt.Errorf("prover: %s is not a trainproof key", path)
	}
	seed, err := hex.DecodeString(lines[len(lines)-1])
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("prover: %s is not a trainproof key", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
