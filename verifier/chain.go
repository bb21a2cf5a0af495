package verifier

import (
	"fmt"
	"slices"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/protocol"
)

// Chain checks that accepted training steps follow one another: step t+1
// names step t's root as its previous root and starts from the weights step t
// committed as its output. A chain holds one task.
type Chain struct {
	taskID   commit.Hash
	started  bool
	next     uint64
	prevRoot commit.Hash
	outRoots []commit.Hash
	seen     map[uint64]commit.Hash
}

// NewChain starts an empty chain; the first step added must be step 0
// (whose weights Verify checks against the task's initial weights).
func NewChain() *Chain { return &Chain{seen: map[uint64]commit.Hash{}} }

// Checkpoint is a point of a training run that a node trusts without
// re-checking the steps before it (a snapshot it verified itself, or one its
// operator vouches for): the task, the step expected next, the root of the
// step before it and the weight roots that step output.
type Checkpoint struct {
	TaskID  commit.Hash
	Step    uint64        // the first step the chain accepts
	Prev    commit.Hash   // the root of step Step−1
	Weights []commit.Hash // the roots of M′_l of step Step−1, one per layer
}

// NewChainFrom starts a chain at a trusted checkpoint: its first step must
// be cp.Step, name cp.Prev and start from cp.Weights.
func NewChainFrom(cp Checkpoint) *Chain {
	return &Chain{seen: map[uint64]commit.Hash{}, started: true, taskID: cp.TaskID, next: cp.Step,
		prevRoot: cp.Prev, outRoots: slices.Clone(cp.Weights)}
}

// Checkpoint returns the chain's position: a node may persist it and resume
// with NewChainFrom. It is the zero Checkpoint before the first step.
func (c *Chain) Checkpoint() Checkpoint {
	return Checkpoint{TaskID: c.taskID, Step: c.next, Prev: c.prevRoot, Weights: slices.Clone(c.outRoots)}
}

// Next is the step the chain expects next.
func (c *Chain) Next() uint64 { return c.next }

// Add links an accepted bundle (its Result from Verify) to the chain.
func (c *Chain) Add(r *Result) error {
	if root, ok := c.seen[r.Step]; ok && c.started && r.TaskID == c.taskID {
		if root == r.StepRoot {
			return fmt.Errorf("%w: step %d was already accepted", ErrReplay, r.Step)
		}
		return fmt.Errorf("%w: step %d was already accepted with another root", ErrReplay, r.Step)
	}
	if c.started && r.TaskID != c.taskID {
		return fmt.Errorf("%w: bundle is for task %x, the chain for %x", ErrTask, r.TaskID[:8], c.taskID[:8])
	}
	if r.Step != c.next {
		return fmt.Errorf("%w: step %d, the chain expects step %d", ErrStale, r.Step, c.next)
	}
	if r.Prev != c.prevRoot {
		return fmt.Errorf("%w: step %d names previous root %x, the chain's is %x", ErrStale, r.Step, r.Prev[:8], c.prevRoot[:8])
	}
	if r.Work == protocol.WorkTrain && c.started {
		if len(r.inRoots) != len(c.outRoots) {
			return fmt.Errorf("%w: step %d has %d layers, the chain %d", ErrStale, r.Step, len(r.inRoots), len(c.outRoots))
		}
		for l, root := range r.inRoots {
			if root != c.outRoots[l] {
				return fmt.Errorf("%w: step %d starts from weights M%d that step %d did not output", ErrStale, r.Step, l+1, r.Step-1)
			}
		}
	}
	c.started = true
	c.taskID = r.TaskID
	c.seen[r.Step] = r.StepRoot
	c.next = r.Step + 1
	c.prevRoot = r.StepRoot
	c.outRoots = r.outRoots
	return nil
}
