package verifier

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/seed46f70faa/trainproof/internal/safefile"
)

// maxKeyFile bounds what ReadPublicKey reads: a .pub file is one line.
const maxKeyFile = 1 << 10

// ParsePublicKey reads a miner's public key in the .pub format that
// `prover keygen` and `prover train` write: 64 hex digits, surrounding
// white space ignored.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	s := strings.TrimSpace(string(b))
	k, err := hex.DecodeString(s)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: not an ed25519 public key (want %d hex digits)", ErrKey, 2*ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(k), nil
}

// ReadPublicKey reads a .pub file (at most 1 KiB).
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := safefile.ReadFile(path, maxKeyFile)
	switch {
	case errors.Is(err, safefile.ErrNotRegular), errors.Is(err, safefile.ErrTooLarge):
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	case err != nil:
		return nil, err
	}
	k, err := ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
