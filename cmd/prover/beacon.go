package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/prover"
)

// pollEvery is how often the prover looks for a step's nonce.
const pollEvery = 20 * time.Millisecond

// beaconWait is where a beacon-mode run publishes its commitments and
// receives its nonces.
type beaconWait struct {
	dir     string
	timeout time.Duration // for one step's nonce
}

// errNoNonce reports a nonce that did not arrive in time.
var errNoNonce = errors.New("no nonce")

// runBeacon is prover.Trainer.Run for a beacon-mode task: each step is
// committed, its commitment published, and the bundle finished only with
// the nonce issued for it. Time spent waiting is added to *wait, not to the
// step's train or prove time.
func runBeacon(ctx context.Context, t *prover.Trainer, opt prover.TrainOptions, bw beaconWait, wait *float64) error {
	pub := opt.Key.Public().(ed25519.PublicKey)
	for s := 0; s < opt.Steps; s++ {
		t0 := time.Now()
		pd, tr, err := t.Step(ctx, pub)
		if err != nil {
			return err
		}
		t1 := time.Now()
		nonce, err := bw.exchange(ctx, tr.Step, pd.Commitment)
		if err != nil {
			pd.Release()
			return err
		}
		t2 := time.Now()
		_, enc, err := pd.Finish(opt.Variant, nonce, opt.Key)
		pd.Release()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(opt.OutDir, fmt.Sprintf("step-%06d.tpb", tr.Step)), enc, 0o644); err != nil {
			return err
		}
		*wait += t2.Sub(t1).Seconds()
		if opt.Progress != nil {
			// The trainer times training apart from committing only inside
			// Run: here the train time includes the commitment.
			opt.Progress(prover.StepReport{Step: tr.Step, Root: pd.StepRoot, BundleBytes: len(enc),
				TrainSeconds: t1.Sub(t0).Seconds(), ProveSeconds: time.Since(t2).Seconds(), Bundle: enc})
		}
	}
	return nil
}

// exchange publishes a step's commitment and waits for its nonce. A
// commitment already published for the step must be this one: a rerun of the
// same task and key commits to the same step and may reuse the nonce issued
// for it, but a commitment from another run would get another run's nonce.
func (bw beaconWait) exchange(ctx context.Context, step uint64, commitment [32]byte) ([32]byte, error) {
	cpath := filepath.Join(bw.dir, fmt.Sprintf("step-%06d.commitment", step))
	npath := filepath.Join(bw.dir, fmt.Sprintf("step-%06d.nonce", step))
	switch old, err := readHex32(cpath); {
	case errors.Is(err, os.ErrNotExist):
		if err := cli.WriteAtomic(cpath, []byte(hex.EncodeToString(commitment[:])+"\n")); err != nil {
			return [32]byte{}, err
		}
	case err != nil:
		return [32]byte{}, fmt.Errorf("%s: %w", cpath, err)
	case old != commitment:
		return [32]byte{}, fmt.Errorf("%s holds another commitment (%x…, this step's is %x…): use a fresh --beacon-dir for a new run", cpath, old[:8], commitment[:8])
	}
	ctx, cancel := context.WithTimeout(ctx, bw.timeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var last error
	for {
		n, err := readHex32(npath)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			last = err // written by hand, perhaps, and not yet whole
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err := fmt.Errorf("%w for step %d: waited %v for %s", errNoNonce, step, bw.timeout, npath)
				if last != nil {
					err = fmt.Errorf("%w (it is malformed: %v)", err, last)
				}
				return [32]byte{}, err
			}
			return [32]byte{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// readHex32 reads a file holding 64 hex digits and an optional newline.
func readHex32(path string) ([32]byte, error) {
	var out [32]byte
	f, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	in, err := io.ReadAll(io.LimitReader(f, 128))
	if err != nil {
		return out, err
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(in)))
	if err != nil || len(b) != len(out) {
		return out, fmt.Errorf("want 64 hex digits")
	}
	copy(out[:], b)
	return out, nil
}
