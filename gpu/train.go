package gpu

import (
	"context"
	"fmt"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/tensor"
)

// Trainer runs training steps with the weights and every matrix of a step on
// the device: the products on the tensor cores, the element-wise functions of
// package model as kernels (kernels/rows.cu), bit for bit. Only the input
// batch goes up; the step's trace comes back for the prover.
type Trainer struct {
	g    *Backend
	cfg  model.Config
	dims []int
	data *dataset.Set
	step uint64
	m    []matmul.Buffer // master weights for the next step
	host []*tensor.Int32 // the same weights on the host (the trace's M)
}

// NewTrainer uploads the configuration's initial weights.
func NewTrainer(g *Backend, cfg model.Config, data *dataset.Set) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if data.N != model.TrainExamples || data.Rows*data.Cols != model.InputDim {
		return nil, fmt.Errorf("gpu: data set has %d images of %d×%d, want %d of 28×28", data.N, data.Rows, data.Cols, model.TrainExamples)
	}
	t := &Trainer{g: g, cfg: cfg, dims: cfg.Dims(), data: data}
	for l := 1; l < len(t.dims); l++ {
		m := tensor.NewInt32(t.dims[l-1], t.dims[l])
		for j := 0; j < m.Rows; j++ {
			cfg.InitRow(l, j, m.Row(j))
		}
		b, err := g.UploadInt32(m)
		if err != nil {
			return nil, err
		}
		t.m = append(t.m, b)
		t.host = append(t.host, m)
	}
	return t, nil
}

// NextStep is the number of the step Step will run.
func (t *Trainer) NextStep() uint64 { return t.step }

// Weights returns the master weights the next step starts from (host copies).
func (t *Trainer) Weights() []*tensor.Int32 { return t.host }

// Close frees the device weights.
func (t *Trainer) Close() {
	for _, b := range t.m {
		t.g.Free(b)
	}
	t.m = nil
}

func (t *Trainer) rowsLaunch(kernel string, rows int, args ...uint64) error {
	const threads = 64
	return t.g.dev.Launch(kernel, [3]int{cdiv(rows, threads), 1, 1}, [3]int{threads, 1, 1}, 0, args...)
}

func (t *Trainer) elemLaunch(kernel string, n int, args ...uint64) error {
	return t.g.dev.Launch(kernel, [3]int{min(cdiv(n, 256), 4096), 1, 1}, [3]int{256, 1, 1}, 0, args...)
}

// Step runs one training step on the device and returns its trace.
func (t *Trainer) Step(ctx context.Context) (tr *model.Trace, err error) {
	cfg, d, b, g := t.cfg, t.dims, t.cfg.Batch, t.g
	L := len(d) - 1
	var bufs []matmul.Buffer // freed at the end, except the new weights
	alloc := func(kind tensor.Kind, rows, cols int) (*buf, error) {
		x, err := g.Alloc(kind, rows, cols)
		if err != nil {
			return nil, err
		}
		bufs = append(bufs, x)
		return x.(*buf), nil
	}
	defer func() {
		for _, x := range bufs {
			g.Free(x)
		}
	}()

	tr = &model.Trace{Step: t.step, Index: make([]int, b), Labels: make([]uint8, b), X: tensor.NewInt8(b, d[0])}
	for i := 0; i < b; i++ {
		idx := cfg.SampleIndex(t.step, i)
		tr.Index[i], tr.Labels[i] = idx, t.data.Labels[idx]
		cfg.InputRow(t.data.Image(idx), tr.X.Row(i))
	}
	xb, err := g.UploadInt8(tr.X)
	if err != nil {
		return nil, err
	}
	bufs = append(bufs, xb)
	labels, err := alloc(tensor.KindInt8, 1, b)
	if err != nil {
		return nil, err
	}
	lab := make([]byte, b)
	copy(lab, tr.Labels)
	if err := g.dev.CopyHtoD(labels.ptr, lab); err != nil {
		return nil, err
	}

	w := make([]*buf, L)
	for l := 1; l <= L; l++ {
		if w[l-1], err = alloc(tensor.KindInt8, d[l-1], d[l]); err != nil {
			return nil, err
		}
		if err := t.elemLaunch("view_rows", d[l-1]*d[l], uint64(t.m[l-1].(*buf).ptr), uint64(d[l-1]*d[l]), uint64(cfg.WeightShift), uint64(w[l-1].ptr)); err != nil {
			return nil, err
		}
	}
	z := make([]*buf, L)
	a := make([]*buf, L) // a[l] = A_l for l < L; a[0] = X
	a[0] = xb.(*buf)
	for l := 1; l <= L; l++ {
		if z[l-1], err = alloc(tensor.KindInt32, b, d[l]); err != nil {
			return nil, err
		}
		if err := g.MatMul(ctx, []matmul.Product{{A: a[l-1], B: w[l-1], C: z[l-1]}}); err != nil {
			return nil, err
		}
		if l < L {
			if a[l], err = alloc(tensor.KindInt8, b, d[l]); err != nil {
				return nil, err
			}
			if err := t.rowsLaunch("act_rows", b, uint64(z[l-1].ptr), uint64(b), uint64(d[l]), uint64(a[l].ptr)); err != nil {
				return nil, err
			}
		}
	}
	gr := make([]*buf, L)
	dd := make([]*buf, L)
	if gr[L-1], err = alloc(tensor.KindInt8, b, d[L]); err != nil {
		return nil, err
	}
	if err := t.rowsLaunch("loss_grad_rows", b, uint64(z[L-1].ptr), uint64(b), uint64(d[L]), uint64(labels.ptr), uint64(cfg.LogitShift), uint64(gr[L-1].ptr)); err != nil {
		return nil, err
	}
	for l := L - 1; l >= 1; l-- {
		if dd[l-1], err = alloc(tensor.KindInt32, b, d[l]); err != nil {
			return nil, err
		}
		if err := g.MatMul(ctx, []matmul.Product{{A: gr[l], B: w[l], TransB: true, C: dd[l-1]}}); err != nil {
			return nil, err
		}
		if gr[l-1], err = alloc(tensor.KindInt8, b, d[l]); err != nil {
			return nil, err
		}
		shift := int64(cfg.GradShift(l) - model.RefActShift)
		if err := t.rowsLaunch("back_act_rows", b, uint64(dd[l-1].ptr), uint64(z[l-1].ptr), uint64(b), uint64(d[l]), uint64(shift), uint64(gr[l-1].ptr)); err != nil {
			return nil, err
		}
	}
	dw := make([]*buf, L)
	next := make([]matmul.Buffer, L)
	for l := 1; l <= L; l++ {
		if dw[l-1], err = alloc(tensor.KindInt32, d[l-1], d[l]); err != nil {
			return nil, err
		}
		if err := g.MatMul(ctx, []matmul.Product{{A: a[l-1], TransA: true, B: gr[l-1], C: dw[l-1]}}); err != nil {
			return nil, err
		}
		nb, err := g.Alloc(tensor.KindInt32, d[l-1], d[l])
		if err != nil {
			return nil, err
		}
		next[l-1] = nb
		n := d[l-1] * d[l]
		lim := int64(127) << uint(cfg.WeightShift)
		if err := t.elemLaunch("update_rows", n, uint64(t.m[l-1].(*buf).ptr), uint64(dw[l-1].ptr), uint64(n),
			uint64(cfg.LRShiftAt(t.step)), uint64(cfg.DecayShift), uint64(lim), uint64(nb.(*buf).ptr)); err != nil {
			for _, x := range next[:l] {
				g.Free(x)
			}
			return nil, err
		}
	}

	// The trace comes back for the prover.
	down8 := func(x *buf) *tensor.Int8 {
		h := tensor.NewInt8(x.rows, x.cols)
		if err == nil {
			err = g.DownloadInt8(x, h)
		}
		return h
	}
	down32 := func(x matmul.Buffer) *tensor.Int32 {
		r, c := x.Shape()
		h := tensor.NewInt32(r, c)
		if err == nil {
			err = g.DownloadInt32(x, h)
		}
		return h
	}
	tr.G = make([]*tensor.Int8, L)
	tr.D = make([]*tensor.Int32, L-1)
	for l := 1; l <= L; l++ {
		tr.M = append(tr.M, t.host[l-1])
		tr.W = append(tr.W, down8(w[l-1]))
		tr.Z = append(tr.Z, down32(z[l-1]))
		tr.G[l-1] = down8(gr[l-1])
		tr.DW = append(tr.DW, down32(dw[l-1]))
		tr.MNext = append(tr.MNext, down32(next[l-1]))
		if l < L {
			tr.A = append(tr.A, down8(a[l]))
			tr.D[l-1] = down32(dd[l-1])
		}
	}
	if err != nil {
		for _, x := range next {
			g.Free(x)
		}
		return nil, err
	}
	for _, x := range t.m {
		g.Free(x)
	}
	t.m, t.host = next, tr.MNext
	t.step++
	return tr, nil
}
