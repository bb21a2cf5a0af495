package snark

import (
	"errors"
	"fmt"
	"slices"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/protocol"
)

// ErrNotAnchored reports a step offered to a chain that has no trusted
// starting point for it: a chain vouches for its steps only from step 0
// (the task's initial weights) or from a checkpoint its owner trusts, never
// from weights the first step it sees names. It wraps ErrProof.
var ErrNotAnchored = fmt.Errorf("%w: the chain is not anchored", ErrProof)

// StepCheckpoint is a position in a task's run that a StepChain may start
// from or resume at: the task, the first step it accepts and the weights
// that step must start from. It is trusted, not checked: a checkpoint is as
// good as the steps (or the authority) it was taken from, so a node should
// take it from a chain it ran itself (StepChain.Checkpoint) or from a source
// it trusts, never from the miner whose steps it is about to check.
type StepCheckpoint struct {
	// Task is the task's ID (protocol.Task.ID). The zero ID, allowed only at
	// step 0, binds the chain to the task of its first step.
	Task commit.Hash
	// Step is the first step the chain accepts.
	Step uint64
	// Weights are the M′_l roots step Step−1 ended with, one per layer.
	// At step 0 they must be nil: step 0 starts from the task's initial
	// weights (InitRoots).
	Weights []fr.Element
}

// StepChain links verified succinct steps of one task: consecutive steps,
// each starting from the weights the previous one ended with, the first
// either step 0 from the task's initial weights (a zero StepChain, or
// NewStepChain) or the step of a trusted checkpoint from its weights
// (NewStepChainFrom). A step of another task, a step out of order (a replay
// included, even of a step that left the weights unchanged) and a lone
// mid-run step on a chain without a checkpoint are refused.
//
// A StepChain checks only how steps link; each statement must have been
// verified first (VerifyStep). It is not safe for concurrent use.
type StepChain struct {
	task  commit.Hash  // zero until bound
	next  uint64       // the step due
	roots []fr.Element // M′ of step next−1; nil while step 0 is due
}

// NewStepChain returns a chain that starts at step 0 from the task's
// initial weights and binds to the task of that step; it is the zero
// StepChain.
func NewStepChain() *StepChain { return &StepChain{} }

// NewStepChainFrom returns a chain that starts at a trusted checkpoint:
// its first step must be cp.Step of task cp.Task, starting from cp.Weights.
// It fails on a checkpoint that cannot anchor a chain: past step 0 without
// a task or weights, or at step 0 with weights.
func NewStepChainFrom(cp StepCheckpoint) (*StepChain, error) {
	switch {
	case cp.Step == 0 && cp.Weights != nil:
		return nil, errors.New("snark: a step-0 checkpoint takes no weights (step 0 starts from the task's InitRoots)")
	case cp.Step > 0 && cp.Task == (commit.Hash{}):
		return nil, fmt.Errorf("snark: the checkpoint at step %d names no task", cp.Step)
	case cp.Step > 0 && len(cp.Weights) == 0:
		return nil, fmt.Errorf("snark: the checkpoint at step %d has no weights", cp.Step)
	}
	return &StepChain{task: cp.Task, next: cp.Step, roots: slices.Clone(cp.Weights)}, nil
}

// Checkpoint returns the chain's position: the step due next and the
// weights it must start from. A node persists it after each accepted step
// and resumes with NewStepChainFrom.
func (c *StepChain) Checkpoint() StepCheckpoint {
	return StepCheckpoint{Task: c.task, Step: c.next, Weights: slices.Clone(c.roots)}
}

// Add links a verified step's statement, of task t, to the chain.
func (c *StepChain) Add(t protocol.Task, st *StepStatement) error {
	id := t.ID()
	if d := TaskDigest(id); !d.Equal(&st.Task) {
		return fmt.Errorf("%w: step %d's statement is of another task than the one given", ErrProof, st.Step)
	}
	if c.task != (commit.Hash{}) && id != c.task {
		return fmt.Errorf("%w: step %d is of task %x, the chain's is %x", ErrProof, st.Step, id[:8], c.task[:8])
	}
	switch {
	case st.Step != c.next && c.roots == nil:
		return fmt.Errorf("%w: step %d is not step 0, and the chain has no checkpoint "+
			"(start it with NewStepChainFrom(StepCheckpoint{Task, Step, Weights}) from a trusted checkpoint)", ErrNotAnchored, st.Step)
	case st.Step < c.next:
		return fmt.Errorf("%w: step %d where %d was due (stale or replayed)", ErrProof, st.Step, c.next)
	case st.Step > c.next:
		return fmt.Errorf("%w: step %d where %d was due (steps missing)", ErrProof, st.Step, c.next)
	}
	roots := c.roots
	if roots == nil {
		init, err := InitRoots(t.Train)
		if err != nil {
			return err
		}
		roots = init
	}
	if len(st.M) != len(roots) || len(st.MNext) != len(roots) {
		return fmt.Errorf("%w: step %d has %d and %d weight roots where the chain holds %d", ErrProof, st.Step, len(st.M), len(st.MNext), len(roots))
	}
	for l := range st.M {
		if !st.M[l].Equal(&roots[l]) {
			return fmt.Errorf("%w: step %d starts from other weights (layer %d) than the chain holds", ErrProof, st.Step, l+1)
		}
	}
	c.task, c.next, c.roots = id, st.Step+1, slices.Clone(st.MNext)
	return nil
}

// StepChainSolidity is the thin wrapper contract around the exported step
// verifier, for a model of L layers: it holds the roots of the current
// weights (the task's initial weights at deployment), and submitStep
// accepts a proof only for a step that starts from them and whose Context
// input it has not accepted before, computes the Miner input from the
// miner's ed25519 key with the SHA-256 precompile, then moves the weights
// to the step's M′ roots. Steps out of order fail, since they do not start
// from the current weights; a replay fails on its Context, even of a step
// that left the weights unchanged (M′ = M, which the step circuit does not
// exclude).
//
// Anyone may submit a step: the contract never reads msg.sender, so a
// relayer may pay the gas for a miner's proof. The step is credited to the
// miner whose ed25519 key is hashed into the Miner input (the event's
// minerKey); a proof verifies only under the key it was made for, so a
// relayer, or a thief who names its own key, gains nothing.
//
// The contract cannot recompute the Context input (a Poseidon2 hash of
// task, step, data set, batch and the step's other roots) at a reasonable
// cost, so it does not check which task and step a proof is of: it records
// every accepted Context and the last one, and logs each in StepVerified
// for anyone to check off chain (StepStatementOf, then Context) that the
// proof accepted as step n is step n of the intended task.
func StepChainSolidity(layers int) string {
	n := 2 + 2*layers
	return fmt.Sprintf(`// SPDX-License-Identifier: MIT
// Code generated by trainproof (snark.StepChainSolidity). DO NOT EDIT.
pragma solidity ^0.8.0;

import "./Verifier.sol";

/// @title The training steps of one task, proven with Groth16, in order.
/// @notice Anyone may submit a step: msg.sender is never read, so a relayer
/// may pay the gas for a miner's proof. The step is credited to the miner
/// whose ed25519 key (minerKey) is hashed into the proof's Miner input; a
/// proof verifies only under the key it was made for, so a relayer, or a
/// thief who names its own key, gains nothing.
/// @dev A step must start from the current weights, and its Context input
/// must not have been accepted before: weights alone do not stop a replay
/// of a step that left them unchanged (M' = M). The contract cannot
/// recompute the Context (Poseidon2 over task, step, data set, batch and
/// the step's other roots) cheaply, so it records it and logs it for
/// off-chain checks that the proof accepted as step n is step n of the task.
contract StepChain {
    Verifier public immutable verifier;
    uint256[%[1]d] public weights;
    uint64 public nextStep;
    mapping(uint256 => bool) public accepted;
    uint256 public lastContext;

    event StepVerified(uint64 step, uint256 context, bytes32 minerKey, uint256[%[1]d] weights);

    constructor(Verifier v, uint256[%[1]d] memory initial) {
        verifier = v;
        weights = initial;
    }

    function submitStep(bytes calldata proof, uint256 context, bytes32 minerKey, uint256[%[1]d] calldata next) external {
        require(!accepted[context], "StepChain: context already accepted");
        uint256[%[2]d] memory input;
        input[0] = context;
        input[1] = uint256(sha256(abi.encodePacked("trainproof/v1/miner", minerKey))) >> 8;
        for (uint256 i = 0; i < %[1]d; i++) {
            input[2 + i] = weights[i];
            input[2 + %[1]d + i] = next[i];
        }
        verifier.verifyProof(proof, input);
        accepted[context] = true;
        lastContext = context;
        weights = next;
        emit StepVerified(nextStep, context, minerKey, next);
        nextStep++;
    }
}
`, layers, n)
}
