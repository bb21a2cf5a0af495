// Package train runs training steps of the quantized MLP (package model) on
// a matmul.Backend and returns each step's trace: every matrix the step
// computed, named, for the prover to commit to.
//
// Every matrix product of a step goes through the backend's MatMul; the
// element-wise functions are package model's row functions, run on the host
// and spread over the cores. The result is the same bits on every backend and
// every machine.
package train

import (
	"context"
	"fmt"
	"runtime"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/internal/par"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/tensor"
)

// Trainer holds the weights between steps. It is not safe for concurrent use.
type Trainer struct {
	cfg  model.Config
	dims []int
	data *dataset.Set
	be   matmul.Backend
	step uint64
	m    []*tensor.Int32 // master weights for the next step
	w    []*tensor.Int8  // their int8 views
}

// New starts training from the configuration's initial weights (InitRow).
// data must be the 60 000-image training set.
func New(cfg model.Config, data *dataset.Set, be matmul.Backend) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if data == nil || data.N != model.TrainExamples || data.Rows*data.Cols != model.InputDim ||
		len(data.Images) != data.N*model.InputDim || len(data.Labels) != data.N {
		return nil, fmt.Errorf("train: the training set must hold %d labelled 28×28 images", model.TrainExamples)
	}
	t := &Trainer{cfg: cfg, dims: cfg.Dims(), data: data, be: be}
	m := make([]*tensor.Int32, len(t.dims)-1)
	for l := range m {
		m[l] = tensor.NewInt32(t.dims[l], t.dims[l+1])
		rowsPar(m[l].Rows, m[l].Rows*m[l].Cols, func(j int) { cfg.InitRow(l+1, j, m[l].Row(j)) })
	}
	t.setWeights(m)
	return t, nil
}

// NextStep is the number of the step Step will run.
func (t *Trainer) NextStep() uint64 { return t.step }

// Config is the configuration the trainer runs.
func (t *Trainer) Config() model.Config { return t.cfg }

// Weights returns the master weights the next step starts from. They are
// not copies: do not modify them.
func (t *Trainer) Weights() []*tensor.Int32 { return t.m }

// SetWeights replaces the master weights (for resuming a run, and for tests
// that play a miner starting from the wrong weights). The trainer takes
// ownership of m.
func (t *Trainer) SetWeights(m []*tensor.Int32) error {
	if len(m) != len(t.m) {
		return fmt.Errorf("train: %d weight matrices, want %d", len(m), len(t.m))
	}
	for l := range m {
		if m[l] == nil || m[l].Rows != t.m[l].Rows || m[l].Cols != t.m[l].Cols || len(m[l].Data) != m[l].Rows*m[l].Cols {
			return fmt.Errorf("train: weights %d are not %d×%d", l+1, t.m[l].Rows, t.m[l].Cols)
		}
	}
	t.setWeights(m)
	return nil
}

// SetStep sets the number of the next step (for resuming a run with
// SetWeights).
func (t *Trainer) SetStep(step uint64) { t.step = step }

func (t *Trainer) setWeights(m []*tensor.Int32) {
	t.m = m
	t.w = make([]*tensor.Int8, len(m))
	for l, ml := range m {
		w := tensor.NewInt8(ml.Rows, ml.Cols)
		rowsPar(ml.Rows, ml.Rows*ml.Cols, func(j int) { t.cfg.ViewRow(ml.Row(j), w.Row(j)) })
		t.w[l] = w
	}
}

// rowsPar runs f on every row index, over all cores when the work (elems)
// is large enough to pay for it.
func rowsPar(rows, elems int, f func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if elems < 1<<15 {
		workers = 1
	}
	par.Range(rows, workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			f(i)
		}
	})
}

type prod struct {
	a, b   *tensor.Int8
	ta, tb bool
	c      *tensor.Int32
}

// mul runs independent products in one MatMul call: without copies on the
// CPU backend, through upload and download on others.
func mul(ctx context.Context, be matmul.Backend, ps ...prod) error {
	if cpu, ok := be.(*matmul.CPU); ok {
		bp := make([]matmul.Product, len(ps))
		for i, p := range ps {
			bp[i] = matmul.Product{A: cpu.WrapInt8(p.a), B: cpu.WrapInt8(p.b), TransA: p.ta, TransB: p.tb, C: cpu.WrapInt32(p.c)}
		}
		return cpu.MatMul(ctx, bp)
	}
	var bufs []matmul.Buffer
	defer func() {
		for _, b := range bufs {
			be.Free(b)
		}
	}()
	bp := make([]matmul.Product, len(ps))
	for i, p := range ps {
		a, err := be.UploadInt8(p.a)
		if err != nil {
			return err
		}
		bufs = append(bufs, a)
		b, err := be.UploadInt8(p.b)
		if err != nil {
			return err
		}
		bufs = append(bufs, b)
		c, err := be.Alloc(tensor.KindInt32, p.c.Rows, p.c.Cols)
		if err != nil {
			return err
		}
		bufs = append(bufs, c)
		bp[i] = matmul.Product{A: a, B: b, TransA: p.ta, TransB: p.tb, C: c}
	}
	if err := be.MatMul(ctx, bp); err != nil {
		return err
	}
	for i, p := range ps {
		if err := be.DownloadInt32(bp[i].C, p.c); err != nil {
			return err
		}
	}
	return nil
}

// Step runs step NextStep() and advances the weights to its MNext. It runs
// the 3L − 1 products of the step on the backend: the L forward products one
// after another, the L − 1 products D_l one after another, then the L
// weight gradients DW_l in one MatMul call.
//
// Every matrix of the returned trace is freshly allocated, except that
// trace.M is the previous step's trace.MNext (the same matrices, not
// copies) and trace.MNext and trace.W become the weights and views the next
// step starts from: the trainer never writes to any of them again, and the
// caller must not either. A failed step leaves the trainer unchanged.
func (t *Trainer) Step(ctx context.Context) (*model.Trace, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, d, b := t.cfg, t.dims, t.cfg.Batch
	L := len(d) - 1
	tr := &model.Trace{
		Step: t.step, Index: make([]int, b), Labels: make([]uint8, b), X: tensor.NewInt8(b, d[0]),
		M: append([]*tensor.Int32(nil), t.m...), W: append([]*tensor.Int8(nil), t.w...),
		Z: make([]*tensor.Int32, L), A: make([]*tensor.Int8, L-1), G: make([]*tensor.Int8, L),
		D: make([]*tensor.Int32, L-1), DW: make([]*tensor.Int32, L), MNext: make([]*tensor.Int32, L),
	}
	rowsPar(b, b*d[0], func(i int) {
		idx := cfg.SampleIndex(tr.Step, i)
		tr.Index[i], tr.Labels[i] = idx, t.data.Labels[idx]
		cfg.InputRow(t.data.Image(idx), tr.X.Row(i))
	})

	// Forward.
	act := tr.X
	for l := 1; l <= L; l++ {
		z := tensor.NewInt32(b, d[l])
		if err := mul(ctx, t.be, prod{a: act, b: tr.W[l-1], c: z}); err != nil {
			return nil, err
		}
		tr.Z[l-1] = z
		if l < L {
			a := tensor.NewInt8(b, d[l])
			rowsPar(b, b*d[l], func(i int) { cfg.ActRow(l, z.Row(i), a.Row(i)) })
			tr.A[l-1], act = a, a
		}
	}

	// Backward.
	g := tensor.NewInt8(b, d[L])
	for i := 0; i < b; i++ {
		cfg.LossGradRow(tr.Z[L-1].Row(i), tr.Labels[i], g.Row(i))
	}
	tr.G[L-1] = g
	for l := L - 1; l >= 1; l-- {
		dm := tensor.NewInt32(b, d[l])
		if err := mul(ctx, t.be, prod{a: tr.G[l], b: tr.W[l], tb: true, c: dm}); err != nil {
			return nil, err
		}
		gl := tensor.NewInt8(b, d[l])
		rowsPar(b, b*d[l], func(i int) { cfg.BackActRow(l, dm.Row(i), tr.Z[l-1].Row(i), gl.Row(i)) })
		tr.D[l-1], tr.G[l-1] = dm, gl
	}

	// Weight gradients, independent of each other: one batch.
	ps := make([]prod, L)
	for l := 1; l <= L; l++ {
		in := tr.X
		if l > 1 {
			in = tr.A[l-2]
		}
		tr.DW[l-1] = tensor.NewInt32(d[l-1], d[l])
		ps[l-1] = prod{a: in, ta: true, b: tr.G[l-1], c: tr.DW[l-1]}
	}
	if err := mul(ctx, t.be, ps...); err != nil {
		return nil, err
	}

	// Update, and the next step's views while the rows are in cache.
	w := make([]*tensor.Int8, L)
	for l := 1; l <= L; l++ {
		next, view := tensor.NewInt32(d[l-1], d[l]), tensor.NewInt8(d[l-1], d[l])
		m, dw := tr.M[l-1], tr.DW[l-1]
		rowsPar(d[l-1], d[l-1]*d[l], func(j int) {
			cfg.UpdateRow(l, tr.Step, m.Row(j), dw.Row(j), next.Row(j))
			cfg.ViewRow(next.Row(j), view.Row(j))
		})
		tr.MNext[l-1], w[l-1] = next, view
	}
	t.m, t.w = tr.MNext, w
	t.step++
	return tr, nil
}

// Evaluate runs the integer forward pass of the current weights on a
// labelled set (batched through the backend, 1000 images a product):
// accuracy is the fraction whose argmax logit (model.Argmax) is the label,
// loss the mean cross-entropy of model.Config.FloatLoss.
func (t *Trainer) Evaluate(ctx context.Context, set *dataset.Set) (accuracy, loss float64, err error) {
	return t.EvaluateOn(ctx, set, t.be)
}

// EvaluateOn is Evaluate with its products on another backend (evaluation
// is a report, not part of any proof: an emulated GPU may hand it to the
// CPU). The result is the same on every backend.
func (t *Trainer) EvaluateOn(ctx context.Context, set *dataset.Set, be matmul.Backend) (accuracy, loss float64, err error) {
	cfg, d := t.cfg, t.dims
	L := len(d) - 1
	if set == nil || set.N < 1 || set.Rows*set.Cols != d[0] || len(set.Images) != set.N*d[0] || len(set.Labels) != set.N {
		return 0, 0, fmt.Errorf("train: evaluation set must hold labelled 28×28 images")
	}
	const chunk = 1000
	correct := 0
	for lo := 0; lo < set.N; lo += chunk {
		n := min(chunk, set.N-lo)
		act := tensor.NewInt8(n, d[0])
		rowsPar(n, n*d[0], func(i int) { cfg.InputRow(set.Image(lo+i), act.Row(i)) })
		var z *tensor.Int32
		for l := 1; l <= L; l++ {
			z = tensor.NewInt32(n, d[l])
			if err := mul(ctx, be, prod{a: act, b: t.w[l-1], c: z}); err != nil {
				return 0, 0, err
			}
			if l < L {
				act = tensor.NewInt8(n, d[l])
				rowsPar(n, n*d[l], func(i int) { cfg.ActRow(l, z.Row(i), act.Row(i)) })
			}
		}
		for i := 0; i < n; i++ {
			label := set.Labels[lo+i]
			if model.Argmax(z.Row(i)) == int(label) {
				correct++
			}
			loss += cfg.FloatLoss(z.Row(i), label)
		}
	}
	return float64(correct) / float64(set.N), loss / float64(set.N), nil
}
