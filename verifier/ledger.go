package verifier

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/protocol"
)

// Ledger is a node's verification policy in one place, the one `verifier
// verify` runs: each bundle is checked by Verify under the Ledger's Options
// (task, signer, nonce and data-set filters), then training steps are
// chained per task (from step 0, or from a trusted Checkpoint given to
// NewLedger) and a matmul unit is accepted once. The Ledger keeps roots and
// chain positions, never bundles, so its memory grows with the number of
// tasks and work units, not with the bytes verified.
//
// Steps of a task must be added in step order (VerifyFiles sorts them by
// their headers first). A Ledger is not safe for concurrent use.
type Ledger struct {
	opt    Options
	starts map[commit.Hash]Checkpoint
	chains map[commit.Hash]*Chain
	first  map[commit.Hash]uint64
	units  map[commit.Hash]bool
}

// NewLedger returns an empty Ledger. A task with a checkpoint starts there
// (NewChainFrom); any other task's chain starts at step 0.
func NewLedger(opt Options, checkpoints ...Checkpoint) *Ledger {
	l := &Ledger{opt: opt, starts: map[commit.Hash]Checkpoint{}, chains: map[commit.Hash]*Chain{},
		first: map[commit.Hash]uint64{}, units: map[commit.Hash]bool{}}
	for _, cp := range checkpoints {
		l.starts[cp.TaskID] = cp
	}
	return l
}

// Add verifies a decoded bundle and links it: the Result when it is
// accepted, else the error that rejects it (the Ledger is then unchanged).
func (l *Ledger) Add(b *bundle.Bundle) (*Result, error) {
	r, err := Verify(b, l.opt)
	if err != nil {
		return nil, err
	}
	if r.Work != protocol.WorkTrain {
		if l.units[r.StepRoot] {
			return nil, fmt.Errorf("%w: work unit %x was already accepted", ErrReplay, r.StepRoot[:8])
		}
		l.units[r.StepRoot] = true
		return r, nil
	}
	c := l.chains[r.TaskID]
	if c == nil {
		c = NewChain()
		if cp, ok := l.starts[r.TaskID]; ok {
			c = NewChainFrom(cp)
			l.first[r.TaskID] = cp.Step
		}
		l.chains[r.TaskID] = c
	}
	if err := c.Add(r); err != nil {
		return nil, err
	}
	return r, nil
}

// ChainState is where one task's chain stands.
type ChainState struct {
	TaskID commit.Hash
	First  uint64 // the first step the chain accepted (0, or the checkpoint's)
	Next   uint64 // the step it expects next
	// Checkpoint resumes the chain in a later run (NewLedger).
	Checkpoint Checkpoint
}

// Chains lists the chain of every task with a verified step, by task id
// (Next == First when none of its steps linked).
func (l *Ledger) Chains() []ChainState {
	out := make([]ChainState, 0, len(l.chains))
	for id, c := range l.chains {
		out = append(out, ChainState{TaskID: id, First: l.first[id], Next: c.Next(), Checkpoint: c.Checkpoint()})
	}
	slices.SortFunc(out, func(a, b ChainState) int { return bytes.Compare(a.TaskID[:], b.TaskID[:]) })
	return out
}

// FileResult is what VerifyFiles reports for one file.
type FileResult struct {
	Path    string
	Bytes   int           // the file's size, when it was read
	Step    uint64        // from the header, when it could be read
	Work    protocol.Work // likewise
	Result  *Result       // the accepted bundle's result, or nil
	Err     error         // why the file was rejected, or nil
	Elapsed time.Duration // decoding, verifying and linking
}

// VerifyFiles verifies bundle files in bounded memory: it reads every
// file's header first (bundle.ReadHeader: a few hundred bytes each), orders
// the files by task and step, then reads, verifies and links one bundle at a
// time with l, dropping it before the next. Peak memory is about one bundle
// (at most maxBytes; 0 means bundle.MaxSize) plus l's roots, whatever the
// number of files. each is called once per file, in that order; a file
// that is not a valid bundle is reported there, not returned. The error is
// an I/O error (a file that cannot be read), which stops the run.
func VerifyFiles(l *Ledger, paths []string, maxBytes int, each func(FileResult)) error {
	type entry struct {
		path string
		id   commit.Hash
		step uint64
	}
	var entries []entry
	for _, p := range paths {
		task, step, err := bundle.ReadHeader(p)
		if err != nil {
			if isIOError(err) {
				return err
			}
			each(FileResult{Path: p, Err: err})
			continue
		}
		entries = append(entries, entry{p, task.ID(), step})
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if c := bytes.Compare(entries[i].id[:], entries[j].id[:]); c != 0 {
			return c < 0
		}
		return entries[i].step < entries[j].step
	})
	for _, e := range entries {
		fr := FileResult{Path: e.path, Step: e.step}
		b, n, err := bundle.ReadFile(e.path, maxBytes)
		fr.Bytes = n
		if err != nil {
			if isIOError(err) {
				return err
			}
			fr.Err = err
			each(fr)
			continue
		}
		fr.Work = b.Task.Work
		t0 := time.Now()
		fr.Result, fr.Err = l.Add(b)
		fr.Elapsed = time.Since(t0)
		each(fr)
	}
	return nil
}

// isIOError tells a file that could not be read from one that is not a
// valid bundle.
func isIOError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}
