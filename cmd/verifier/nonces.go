package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/internal/safefile"
)

// issued is one line of a nonces file: the nonce a beacon issued for a step,
// after the miner published commitment.
type issued struct {
	nonce      [32]byte
	commitment [32]byte
	any        bool // the commitment column is "-" (succinct mode only)
}

// nonceBook holds the nonces of one beacon run, one per step: a second nonce
// for a step would let the miner keep whichever sample suits it.
type nonceBook map[uint64]issued

// readNonces reads a nonces file (see parseNonces).
func readNonces(path string, dashOK bool) (nonceBook, error) {
	f, _, err := safefile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	nb, err := parseNonces(f, dashOK)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return nb, nil
}

// parseNonces parses lines "STEP NONCE_HEX COMMITMENT_HEX" (verifier beacon
// writes them); blank lines and lines starting with # are skipped. With
// dashOK the commitment may be "-": the succinct circuit binds the nonce to
// the step itself, so the commitment is not needed there.
func parseNonces(r io.Reader, dashOK bool) (nonceBook, error) {
	nb := nonceBook{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want STEP NONCE COMMITMENT, got %d fields", n, len(f))
		}
		step, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: step %q is not a number", n, f[0])
		}
		var e issued
		if e.nonce, err = hex32(f[1]); err != nil {
			return nil, fmt.Errorf("line %d: nonce: %w", n, err)
		}
		switch {
		case f[2] == "-" && dashOK:
			e.any = true
		case f[2] == "-":
			return nil, fmt.Errorf("line %d: commitment \"-\" is allowed only with --mode succinct", n)
		default:
			if e.commitment, err = hex32(f[2]); err != nil {
				return nil, fmt.Errorf("line %d: commitment: %w", n, err)
			}
		}
		if _, dup := nb[step]; dup {
			return nil, fmt.Errorf("line %d: a second nonce for step %d (a beacon issues one per step)", n, step)
		}
		nb[step] = e
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nb, nil
}

// lookup is verifier.Options.Nonce: the step's nonce, if it was issued for
// this commitment. The commitment binds the task id, so the file needs no
// task column.
func (nb nonceBook) lookup(_ commit.Hash, step uint64, commitment [32]byte) ([32]byte, bool) {
	e, ok := nb[step]
	if !ok || (!e.any && e.commitment != commitment) {
		return [32]byte{}, false
	}
	return e.nonce, true
}

// hex32 parses exactly 64 hex digits.
func hex32(s string) ([32]byte, error) {
	var out [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(out) {
		return out, fmt.Errorf("want 64 hex digits, got %q", s)
	}
	copy(out[:], b)
	return out, nil
}
