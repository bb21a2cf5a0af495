package snark_test

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
)

// chainRun is a run of statements for StepChain, which checks only how
// verified statements link: no proofs are needed.
type chainRun struct {
	task    protocol.Task
	weights [][]fr.Element // weights[s] are M of step s; weights[0] the task's InitRoots
}

// newChainRun makes a run of steps 0..steps−1 of a task of the tiny model.
func newChainRun(t *testing.T, seed uint64, steps int) chainRun {
	cfg := tinyConfig()
	cfg.Seed = seed
	r := chainRun{task: protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: 1, Train: cfg}}
	init, err := snark.InitRoots(cfg)
	require.NoError(t, err)
	r.weights = append(r.weights, init)
	for s := 1; s <= steps; s++ {
		r.weights = append(r.weights, elems(len(init), seed<<32|uint64(s)<<8))
	}
	return r
}

// step is step s of the run, from weights[s] to weights[s+1].
func (r chainRun) step(s int) *snark.StepStatement {
	return &snark.StepStatement{Task: snark.TaskDigest(r.task.ID()), Step: uint64(s), M: r.weights[s], MNext: r.weights[s+1]}
}

// checkpoint is the position before step s.
func (r chainRun) checkpoint(s int) snark.StepCheckpoint {
	cp := snark.StepCheckpoint{Task: r.task.ID(), Step: uint64(s)}
	if s > 0 {
		cp.Weights = r.weights[s]
	}
	return cp
}

func elems(n int, base uint64) []fr.Element {
	v := make([]fr.Element, n)
	for i := range v {
		v[i].SetUint64(base + uint64(i))
	}
	return v
}

// TestStepChain plays a miner who offers a chain steps that do not
// belong in it: a lone mid-run step from weights it chose, another task's
// step, replays (of a step that changed nothing too), gaps.
func TestStepChain(t *testing.T) {
	run := newChainRun(t, 1, 6)
	other := newChainRun(t, 2, 6)
	noUpdate := run.step(3)
	noUpdate.MNext = noUpdate.M // M′ = M, which the step circuit does not exclude
	type add struct {
		task protocol.Task
		st   *snark.StepStatement
		err  error // nil: accepted
	}
	zero := func(*testing.T) *snark.StepChain { return &snark.StepChain{} }
	from := func(s int) func(*testing.T) *snark.StepChain {
		return func(t *testing.T) *snark.StepChain {
			c, err := snark.NewStepChainFrom(run.checkpoint(s))
			require.NoError(t, err)
			return c
		}
	}
	for _, tc := range []struct {
		name  string
		chain func(*testing.T) *snark.StepChain
		adds  []add
	}{
		{"zero chain from step 0", zero, []add{{run.task, run.step(0), nil}, {run.task, run.step(1), nil}, {run.task, run.step(2), nil}}},
		{"NewStepChain from step 0", func(*testing.T) *snark.StepChain { return snark.NewStepChain() },
			[]add{{run.task, run.step(0), nil}, {run.task, run.step(1), nil}}},
		{"zero chain refuses a lone step 1", zero, []add{{run.task, run.step(1), snark.ErrNotAnchored}, {run.task, run.step(2), snark.ErrNotAnchored}}},
		{"zero chain refuses a lone mid-run step", zero, []add{{run.task, run.step(5), snark.ErrNotAnchored}}},
		{"step 0 from other weights", zero, []add{{run.task, func() *snark.StepStatement {
			st := run.step(0)
			st.M = run.weights[1]
			return st
		}(), snark.ErrProof}}},
		{"checkpoint chain from its step", from(4), []add{{run.task, run.step(4), nil}, {run.task, run.step(5), nil}}},
		{"checkpoint chain refuses an earlier step", from(4), []add{{run.task, run.step(3), snark.ErrProof}, {run.task, run.step(4), nil}}},
		{"checkpoint chain refuses a later step", from(4), []add{{run.task, run.step(5), snark.ErrProof}}},
		{"checkpoint chain refuses other weights", from(4), []add{{run.task, func() *snark.StepStatement {
			st := run.step(4)
			st.M = run.weights[3]
			return st
		}(), snark.ErrProof}}},
		{"step-0 checkpoint", from(0), []add{{run.task, run.step(1), snark.ErrNotAnchored}, {run.task, run.step(0), nil}}},
		{"wrong task after the first", zero, []add{{run.task, run.step(0), nil}, {other.task, other.step(1), snark.ErrProof}, {run.task, run.step(1), nil}}},
		{"wrong task at step 0", zero, []add{{run.task, run.step(0), nil}, {other.task, other.step(0), snark.ErrProof}}},
		{"wrong task at the checkpoint", from(4), []add{{other.task, other.step(4), snark.ErrProof}, {run.task, run.step(4), nil}}},
		{"statement of another task than given", zero, []add{{run.task, other.step(0), snark.ErrProof}}},
		{"replayed step", zero, []add{{run.task, run.step(0), nil}, {run.task, run.step(1), nil}, {run.task, run.step(1), snark.ErrProof}, {run.task, run.step(0), snark.ErrProof}, {run.task, run.step(2), nil}}},
		{"replayed no-update step", from(3), []add{{run.task, noUpdate, nil}, {run.task, noUpdate, snark.ErrProof}}},
		{"missing step", zero, []add{{run.task, run.step(0), nil}, {run.task, run.step(2), snark.ErrProof}}},
		{"wrong number of layers", from(4), []add{{run.task, func() *snark.StepStatement {
			st := run.step(4)
			st.M = st.M[:1]
			return st
		}(), snark.ErrProof}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.chain(t)
			for i, a := range tc.adds {
				err := c.Add(a.task, a.st)
				if a.err == nil {
					require.NoError(t, err, "add %d (step %d)", i, a.st.Step)
				} else {
					require.ErrorIs(t, err, a.err, "add %d (step %d)", i, a.st.Step)
					require.ErrorIs(t, err, snark.ErrProof)
				}
			}
		})
	}
}

// TestStepChainNotAnchoredMessage: the refusal of a lone mid-run step says
// what is wrong and how to anchor the chain.
func TestStepChainNotAnchoredMessage(t *testing.T) {
	run := newChainRun(t, 1, 2)
	err := new(snark.StepChain).Add(run.task, run.step(1))
	require.ErrorIs(t, err, snark.ErrNotAnchored)
	require.ErrorContains(t, err, "not anchored")
	require.ErrorContains(t, err, "NewStepChainFrom")
}

// TestStepChainCheckpoint: a node that persists the chain's position
// after each step and resumes from it accepts what an uninterrupted chain
// accepts, and nothing it would refuse.
func TestStepChainCheckpoint(t *testing.T) {
	run := newChainRun(t, 1, 5)
	c := snark.NewStepChain()
	require.Equal(t, snark.StepCheckpoint{}, c.Checkpoint())
	for s := range 4 {
		cp := c.Checkpoint()
		if s > 0 {
			require.Equal(t, run.checkpoint(s), cp)
		}
		resumed, err := snark.NewStepChainFrom(cp)
		require.NoError(t, err)
		require.NoError(t, resumed.Add(run.task, run.step(s)), "step %d", s)
		require.ErrorIs(t, resumed.Add(run.task, run.step(s)), snark.ErrProof, "replay of step %d", s)
		require.NoError(t, c.Add(run.task, run.step(s)))
	}
	// What Checkpoint returns is the caller's: changing it changes no chain.
	cp := c.Checkpoint()
	cp.Weights[0].SetUint64(99)
	require.NoError(t, c.Add(run.task, run.step(4)))

	for _, bad := range []struct {
		name string
		cp   snark.StepCheckpoint
	}{
		{"no weights", snark.StepCheckpoint{Task: run.task.ID(), Step: 3}},
		{"empty weights", snark.StepCheckpoint{Task: run.task.ID(), Step: 3, Weights: []fr.Element{}}},
		{"no task", snark.StepCheckpoint{Step: 3, Weights: run.weights[3]}},
		{"weights at step 0", snark.StepCheckpoint{Task: run.task.ID(), Weights: run.weights[0]}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := snark.NewStepChainFrom(bad.cp)
			require.Error(t, err)
		})
	}
}
