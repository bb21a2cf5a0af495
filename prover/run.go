package prover

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/train"
)

// DatasetTree commits to a training set: leaf i is protocol.DatasetLeaf(i, label_i, image_i).
func DatasetTree(set *dataset.Set) (*commit.Tree, error) {
	if set.N != model.TrainExamples || set.Rows*set.Cols != bundle.ImageBytes {
		return nil, fmt.Errorf("prover: training set has %d images of %d×%d, want %d of 28×28", set.N, set.Rows, set.Cols, model.TrainExamples)
	}
	leaves := make([]commit.Hash, set.N)
	for i := range leaves {
		leaves[i] = protocol.DatasetLeaf(i, set.Labels[i], set.Image(i))
	}
	return commit.New(leaves)
}

// Examples opens the training examples at the given indices in the data-set tree.
func Examples(set *dataset.Set, tree *commit.Tree, index []int) []bundle.Example {
	ex := make([]bundle.Example, len(index))
	for i, idx := range index {
		ex[i] = bundle.Example{Label: set.Labels[idx], Image: set.Image(idx), Path: tree.Path(idx)}
	}
	return ex
}

// TrainOptions configure a training run.
type TrainOptions struct {
	Steps   int
	Variant bundle.Variant // default Sampled
	Key     ed25519.PrivateKey
	OutDir  string // bundles are written as step-NNNNNN.tpb; "" writes none
	// Progress, if set, is called after every step.
	Progress func(StepReport)
}

// StepReport describes one proven step.
type StepReport struct {
	Step         uint64
	Root         commit.Hash
	BundleBytes  int
	TrainSeconds float64 // the step's forward, backward and update
	ProveSeconds float64 // commit, open, encode and sign
	Bundle       []byte  `json:"-"`
}

// Trainer runs training steps and proves each one.
type Trainer struct {
	Task    protocol.Task
	trainer *train.Trainer // the CPU trainer, or a copy of the device's weights for evaluation
	device  *gpu.Trainer   // set when the backend is a GPU (or the emulated one)
	backend *gpu.Backend
	data    *dataset.Set
	tree    *commit.Tree
	prev    commit.Hash

	lastTrain time.Duration
}

// NewTrainer prepares a training task over the training set on a backend.
func NewTrainer(cfg model.Config, samples uint32, mode protocol.Mode, data *dataset.Set, be matmul.Backend) (*Trainer, error) {
	tree, err := DatasetTree(data)
	if err != nil {
		return nil, err
	}
	task := protocol.Task{Work: protocol.WorkTrain, Mode: mode, Samples: samples, Train: cfg, DatasetRoot: tree.Root()}
	if err := task.Validate(); err != nil {
		return nil, err
	}
	tr, err := train.New(cfg, data, be)
	if err != nil {
		return nil, err
	}
	t := &Trainer{Task: task, trainer: tr, data: data, tree: tree}
	if g, ok := be.(*gpu.Backend); ok {
		// Steps run with every matrix on the device; the trace comes back.
		if t.device, err = gpu.NewTrainer(g, cfg, data); err != nil {
			return nil, err
		}
		t.backend = g
	}
	return t, nil
}

// Model returns a trainer holding the current weights (for evaluation).
func (t *Trainer) Model() *train.Trainer {
	if t.device != nil {
		if w, err := t.device.Weights(); err == nil {
			t.trainer.SetWeights(w)
			t.trainer.SetStep(t.device.NextStep())
		}
	}
	return t.trainer
}

// Step trains one step and commits to it; Finish on the result makes the
// bundle, and Release then frees what the step holds on a device.
func (t *Trainer) Step(ctx context.Context, signer ed25519.PublicKey) (*Pending, *model.Trace, error) {
	t0 := time.Now()
	var tr *model.Trace
	var st *Step
	if t.device != nil {
		// The step stays on the device: committed there, only
		// the opened rows come back. Pending.Release frees it.
		r, err := t.device.StepResident(ctx)
		if err != nil {
			return nil, nil, err
		}
		t.lastTrain = time.Since(t0)
		tr = &model.Trace{Step: r.Step, Index: r.Index, Labels: r.Labels, X: r.HostX}
		if st, err = ResidentStep(t.Task, t.prev, r, t.backend, Examples(t.data, t.tree, r.Index)); err != nil {
			r.Release(t.backend)
			return nil, nil, err
		}
	} else {
		var err error
		if tr, err = t.trainer.Step(ctx); err != nil {
			return nil, nil, err
		}
		t.lastTrain = time.Since(t0)
		if st, err = TrainStep(t.Task, t.prev, tr, Examples(t.data, t.tree, tr.Index)); err != nil {
			return nil, nil, err
		}
	}
	pd, err := Commit(ctx, st, signer)
	if err != nil {
		st.Release()
		return nil, nil, err
	}
	t.prev = pd.StepRoot
	return pd, tr, nil
}

// Run trains and proves opt.Steps steps (Fiat–Shamir tasks only: a beacon
// task needs the nonce between Step and Finish).
func (t *Trainer) Run(ctx context.Context, opt TrainOptions) error {
	if t.Task.Mode != protocol.ModeFiatShamir {
		return fmt.Errorf("prover: Run needs a Fiat–Shamir task; drive beacon tasks with Step and Finish")
	}
	if opt.Variant == 0 {
		opt.Variant = bundle.Sampled
	}
	if opt.OutDir != "" {
		if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
			return err
		}
	}
	for s := 0; s < opt.Steps; s++ {
		t0 := time.Now()
		pd, tr, err := t.Step(ctx, opt.Key.Public().(ed25519.PublicKey))
		if err != nil {
			return err
		}
		_, enc, err := pd.Finish(opt.Variant, [32]byte{}, opt.Key)
		pd.Release()
		if err != nil {
			return err
		}
		if opt.OutDir != "" {
			if err := os.WriteFile(filepath.Join(opt.OutDir, fmt.Sprintf("step-%06d.tpb", tr.Step)), enc, 0o644); err != nil {
				return err
			}
		}
		if opt.Progress != nil {
			opt.Progress(StepReport{Step: tr.Step, Root: pd.StepRoot, BundleBytes: len(enc),
				TrainSeconds: t.lastTrain.Seconds(), ProveSeconds: time.Since(t0).Seconds() - t.lastTrain.Seconds(), Bundle: enc})
		}
	}
	return nil
}
