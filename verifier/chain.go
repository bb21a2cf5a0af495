package verifier

import (
	"fmt"

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

// NewChain starts an empty chain; the first step added must be step 0.
func NewChain() *Chain { return &Chain{seen: map[uint64]commit.Hash{}} }

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
