package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seed46f70faa/trainproof/internal/cli"
)

// pollEvery is how often beacon looks for new commitments (the prover polls
// for nonces as often).
const pollEvery = 20 * time.Millisecond

// beaconCmd issues the nonces of a beacon-mode training run, for local use
// and tests: the miner (prover train --mode beacon --beacon-dir DIR)
// publishes DIR/step-NNNNNN.commitment; beacon draws a nonce, records it in
// the nonces file (synced) and only then publishes DIR/step-NNNNNN.nonce. It
// issues at most one nonce per step, across restarts too: the file is the
// record, and a lock keeps a second beacon off it.
func beaconCmd(args []string) int {
	fs := flag.NewFlagSet("beacon", flag.ContinueOnError)
	dir := fs.String("dir", "", "the directory the prover publishes its commitments in (its --beacon-dir)")
	path := fs.String("nonces", "", "the record of issued nonces, one line STEP NONCE COMMITMENT per step (appended; verify reads it with --nonces)")
	steps := fs.Int("steps", 0, "stop once this many steps have their nonce (0: run until --timeout or interrupted)")
	timeout := fs.Duration("timeout", 0, "stop after this long (0: no limit); stopping before --steps is an error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *dir == "" || *path == "" || fs.NArg() != 0 || *steps < 0 || *timeout < 0 {
		fmt.Fprintf(os.Stderr, "%s: error: beacon needs --dir DIR and --nonces FILE (and no other arguments)\n", name)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	b, err := openBeacon(*dir, *path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", name, err)
		return 2
	}
	defer b.f.Close()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if err := b.poll(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: error: %v\n", name, err)
			return 2
		}
		if *steps > 0 && len(b.served) >= *steps {
			return 0
		}
		select {
		case <-ctx.Done():
			if *steps > 0 {
				fmt.Fprintf(os.Stderr, "%s: error: stopped (%v) with %d of %d steps served\n", name, context.Cause(ctx), len(b.served), *steps)
				return 1
			}
			return 0
		case <-tick.C:
		}
	}
}

type beacon struct {
	dir     string
	path    string
	f       *os.File // the nonces file, locked, opened for appending
	book    nonceBook
	served  map[uint64]bool // steps whose nonce is published in dir
	refused map[uint64]bool // steps whose commitment changed after their nonce was issued
	warned  map[string]bool // malformed commitment files already reported
}

func openBeacon(dir, path string) (*beacon, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w (is another beacon issuing into it?)", path, err)
	}
	// What an earlier run issued stays issued: read the record first.
	book, err := parseNonces(f, false)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := startRecord(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &beacon{dir: dir, path: path, f: f, book: book,
		served: map[uint64]bool{}, refused: map[uint64]bool{}, warned: map[string]bool{}}, nil
}

// startRecord heads a new nonces file with a comment, and ends an old one's
// last line (one edited by hand, say) so that the next line starts afresh.
func startRecord(f *os.File) error {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	var head string
	if end == 0 {
		head = "# trainproof beacon nonces: STEP NONCE COMMITMENT, one nonce per step (verifier verify --nonces)\n"
	} else {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, end-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			head = "\n"
		}
	}
	if head == "" {
		return nil
	}
	if _, err := f.WriteString(head); err != nil {
		return err
	}
	return f.Sync()
}

// poll serves every commitment in dir that has no nonce yet. Only I/O
// errors are returned: a miner's bad file is reported and skipped.
func (b *beacon) poll() error {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		step, ok := commitmentStep(e.Name())
		if !ok || b.served[step] || b.refused[step] {
			continue
		}
		c, err := readHex32(filepath.Join(b.dir, e.Name()))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if !b.warned[e.Name()] {
				b.warned[e.Name()] = true
				fmt.Fprintf(os.Stderr, "%s: warning: %s: %v; no nonce issued for it\n", name, e.Name(), err)
			}
			continue
		}
		is, ok := b.book[step]
		switch {
		case ok && is.commitment != c:
			// Never a second nonce for a step, whatever the miner publishes.
			b.refused[step] = true
			fmt.Fprintf(os.Stderr, "%s: warning: step %d: commitment %x… replaces %x…, for which a nonce was already issued; no nonce issued for it\n",
				name, step, c[:8], is.commitment[:8])
			continue
		case !ok:
			is = issued{commitment: c}
			if _, err := rand.Read(is.nonce[:]); err != nil {
				return err
			}
			// Record, sync, then publish: a crash in between leaves a nonce
			// issued and unpublished, never one published and unrecorded.
			line := fmt.Sprintf("%d %x %x\n", step, is.nonce, is.commitment)
			if _, err := b.f.WriteString(line); err != nil {
				return err
			}
			if err := b.f.Sync(); err != nil {
				return err
			}
			b.book[step] = is
		}
		// A nonce recorded by an earlier run is published again, unchanged.
		if err := cli.WriteAtomic(filepath.Join(b.dir, fmt.Sprintf("step-%06d.nonce", step)), []byte(hex.EncodeToString(is.nonce[:])+"\n")); err != nil {
			return err
		}
		b.served[step] = true
		fmt.Printf("step %d: commitment %x… nonce %x…\n", step, c[:8], is.nonce[:8])
	}
	return nil
}

// commitmentStep parses "step-NNNNNN.commitment" in its canonical spelling
// (the prover's %06d), so that two names never mean one step.
func commitmentStep(file string) (uint64, bool) {
	s, ok := strings.CutPrefix(file, "step-")
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, ".commitment"); !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || fmt.Sprintf("step-%06d.commitment", n) != file {
		return 0, false
	}
	return n, true
}

// readHex32 reads a file holding 64 hex digits and an optional newline.
func readHex32(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	in, err := io.ReadAll(io.LimitReader(f, 128))
	if err != nil {
		return [32]byte{}, err
	}
	return hex32(strings.TrimSpace(string(in)))
}
