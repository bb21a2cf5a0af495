// Package train runs training steps of the quantized MLP (package model) on
// a matmul.Backend and returns each step's trace: every matrix the step
// computed, named, for the prover to commit to.
package train

import (
	"context"
	"fmt"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/tensor"
)

// Trainer holds the weights between steps.
type Trainer struct {
	cfg  model.Config
	dims []int
	data *dataset.Set
	be   matmul.Backend
	step uint64
	m    []*tensor.Int32 // master weights for the next step
}

// New starts training from the configuration's initial weights.
func New(cfg model.Config, data *dataset.Set, be matmul.Backend) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if data.N != model.TrainExamples || data.Rows*data.Cols != model.InputDim {
		return nil, fmt.Errorf("train: data set has %d images of %d×%d, want %d of 28×28", data.N, data.Rows, data.Cols, model.TrainExamples)
	}
	t := &Trainer{cfg: cfg, dims: cfg.Dims(), data: data, be: be}
	for l := 1; l < len(t.dims); l++ {
		m := tensor.NewInt32(t.dims[l-1], t.dims[l])
		for j := 0; j < m.Rows; j++ {
			cfg.InitRow(l, j, m.Row(j))
		}
		t.m = append(t.m, m)
	}
	return t, nil
}

// NextStep is the number of the step Step will run.
func (t *Trainer) NextStep() uint64 { return t.step }

// Weights returns the master weights the next step starts from (not copies).
func (t *Trainer) Weights() []*tensor.Int32 { return t.m }

// SetWeights replaces the master weights (for resuming a run, and for tests
// that play a miner starting from the wrong weights).
func (t *Trainer) SetWeights(m []*tensor.Int32) error {
	if len(m) != len(t.m) {
		return fmt.Errorf("train: %d weight matrices, want %d", len(m), len(t.m))
	}
	for l := range m {
		if m[l].Rows != t.m[l].Rows || m[l].Cols != t.m[l].Cols {
			return fmt.Errorf("train: weights %d are %d×%d, want %d×%d", l+1, m[l].Rows, m[l].Cols, t.m[l].Rows, t.m[l].Cols)
		}
	}
	t.m = m
	return nil
}

type prod struct {
	a, b   *tensor.Int8
	ta, tb bool
	c      *tensor.Int32
}

// mul runs products on the backend: without copies on the CPU backend,
// through upload and download on others.
func (t *Trainer) mul(ctx context.Context, ps ...prod) error {
	if cpu, ok := t.be.(*matmul.CPU); ok {
		bp := make([]matmul.Product, len(ps))
		for i, p := range ps {
			bp[i] = matmul.Product{A: cpu.WrapInt8(p.a), B: cpu.WrapInt8(p.b), TransA: p.ta, TransB: p.tb, C: cpu.WrapInt32(p.c)}
		}
		return cpu.MatMul(ctx, bp)
	}
	var bufs []matmul.Buffer
	defer func() {
		for _, b := range bufs {
			t.be.Free(b)
		}
	}()
	bp := make([]matmul.Product, len(ps))
	for i, p := range ps {
		a, err := t.be.UploadInt8(p.a)
		if err != nil {
			return err
		}
		bufs = append(bufs, a)
		b, err := t.be.UploadInt8(p.b)
		if err != nil {
			return err
		}
		bufs = append(bufs, b)
		c, err := t.be.Alloc(tensor.KindInt32, p.c.Rows, p.c.Cols)
		if err != nil {
			return err
		}
		bufs = append(bufs, c)
		bp[i] = matmul.Product{A: a, B: b, TransA: p.ta, TransB: p.tb, C: c}
	}
	if err := t.be.MatMul(ctx, bp); err != nil {
		return err
	}
	for i, p := range ps {
		if err := t.be.DownloadInt32(bp[i].C, p.c); err != nil {
			return err
		}
	}
	return nil
}

// Step runs one training step and advances the weights. The returned trace
// is freshly allocated; the next step does not touch it.
func (t *Trainer) Step(ctx context.Context) (*model.Trace, error) {
	cfg, d, b := t.cfg, t.dims, t.cfg.Batch
	L := len(d) - 1
	tr := &model.Trace{Step: t.step, Index: make([]int, b), Labels: make([]uint8, b), X: tensor.NewInt8(b, d[0])}
	for i := 0; i < b; i++ {
		idx := cfg.SampleIndex(t.step, i)
		tr.Index[i], tr.Labels[i] = idx, t.data.Labels[idx]
		cfg.InputRow(t.data.Image(idx), tr.X.Row(i))
	}
	for l := 1; l <= L; l++ {
		w := tensor.NewInt8(d[l-1], d[l])
		for j := 0; j < w.Rows; j++ {
			cfg.ViewRow(t.m[l-1].Row(j), w.Row(j))
		}
		tr.M = append(tr.M, t.m[l-1])
		tr.W = append(tr.W, w)
	}
	// Forward.
	act := tr.X
	for l := 1; l <= L; l++ {
		z := tensor.NewInt32(b, d[l])
		if err := t.mul(ctx, prod{a: act, b: tr.W[l-1], c: z}); err != nil {
			return nil, err
		}
		tr.Z = append(tr.Z, z)
		if l < L {
			a := tensor.NewInt8(b, d[l])
			for i := 0; i < b; i++ {
				cfg.ActRow(l, z.Row(i), a.Row(i))
			}
			tr.A = append(tr.A, a)
			act = a
		}
	}
	// Backward.
	tr.G = make([]*tensor.Int8, L)
	tr.D = make([]*tensor.Int32, L-1)
	g := tensor.NewInt8(b, d[L])
	for i := 0; i < b; i++ {
		cfg.LossGradRow(tr.Z[L-1].Row(i), tr.Labels[i], g.Row(i))
	}
	tr.G[L-1] = g
	for l := L - 1; l >= 1; l-- {
		dm := tensor.NewInt32(b, d[l])
		if err := t.mul(ctx, prod{a: tr.G[l], b: tr.W[l], tb: true, c: dm}); err != nil {
			return nil, err
		}
		gl := tensor.NewInt8(b, d[l])
		for i := 0; i < b; i++ {
			cfg.BackActRow(l, dm.Row(i), tr.Z[l-1].Row(i), gl.Row(i))
		}
		tr.D[l-1], tr.G[l-1] = dm, gl
	}
	// Weight gradients, all in one batch.
	ps := make([]prod, L)
	for l := 1; l <= L; l++ {
		in := tr.X
		if l > 1 {
			in = tr.A[l-2]
		}
		dw := tensor.NewInt32(d[l-1], d[l])
		tr.DW = append(tr.DW, dw)
		ps[l-1] = prod{a: in, ta: true, b: tr.G[l-1], c: dw}
	}
	if err := t.mul(ctx, ps...); err != nil {
		return nil, err
	}
	// Update.
	for l := 1; l <= L; l++ {
		next := tensor.NewInt32(d[l-1], d[l])
		for j := 0; j < next.Rows; j++ {
			cfg.UpdateRow(l, t.step, tr.M[l-1].Row(j), tr.DW[l-1].Row(j), next.Row(j))
		}
		tr.MNext = append(tr.MNext, next)
	}
	t.m = tr.MNext
	t.step++
	return tr, nil
}

// Evaluate runs the integer forward pass on a labelled set with the current
// weights: accuracy (argmax of the logits, ties to the lowest class) and the
// mean cross-entropy of the integer softmax.
func (t *Trainer) Evaluate(ctx context.Context, set *dataset.Set) (accuracy, loss float64, err error) {
	return t.EvaluateOn(ctx, set, t.be)
}

// EvaluateOn is Evaluate on another backend (evaluation is a report, not
// part of any proof: an emulated GPU may hand it to the CPU).
func (t *Trainer) EvaluateOn(ctx context.Context, set *dataset.Set, be matmul.Backend) (accuracy, loss float64, err error) {
	saved := t.be
	t.be = be
	defer func() { t.be = saved }()
	cfg, d := t.cfg, t.dims
	L := len(d) - 1
	ws := make([]*tensor.Int8, L)
	for l := 1; l <= L; l++ {
		ws[l-1] = tensor.NewInt8(d[l-1], d[l])
		for j := 0; j < d[l-1]; j++ {
			cfg.ViewRow(t.m[l-1].Row(j), ws[l-1].Row(j))
		}
	}
	const chunk = 1000
	correct := 0
	for lo := 0; lo < set.N; lo += chunk {
		n := min(chunk, set.N-lo)
		act := tensor.NewInt8(n, d[0])
		for i := 0; i < n; i++ {
			cfg.InputRow(set.Image(lo+i), act.Row(i))
		}
		var z *tensor.Int32
		for l := 1; l <= L; l++ {
			z = tensor.NewInt32(n, d[l])
			if err := t.mul(ctx, prod{a: act, b: ws[l-1], c: z}); err != nil {
				return 0, 0, err
			}
			if l < L {
				act = tensor.NewInt8(n, d[l])
				for i := 0; i < n; i++ {
					cfg.ActRow(l, z.Row(i), act.Row(i))
				}
			}
		}
		for i := 0; i < n; i++ {
			row := z.Row(i)
			best := 0
			for j, x := range row {
				if x > row[best] {
					best = j
				}
			}
			if best == int(set.Labels[lo+i]) {
				correct++
			}
			loss += cfg.FloatLoss(row, set.Labels[lo+i])
		}
	}
	return float64(correct) / float64(set.N), loss / float64(set.N), nil
}
