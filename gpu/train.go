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
//
// A step is queued, not waited for: StepResident makes no allocation, no
// synchronisation and no read-back once the backend's pool holds a step's
// buffers (from the second step on), and 12L − 4 launches for L layers: L
// view_rows, three per product (two pack_s8 and one GEMM) for L forward,
// L − 1 backward and L update products, L − 1 act_rows, L − 1 back_act_rows
// and one loss_grad_rows. Its two uploads (the batch and its labels) go
// from pinned staging. TestStepBudget holds it, and the prover's batched
// read-backs after it, to that.
type Trainer struct {
	g    *Backend
	cfg  model.Config
	dims []int
	data *dataset.Set
	step uint64
	m    []matmul.Buffer // master weights for the next step
	// stage is pinned staging for a step's batch and labels, two buffers
	// used in turn; staged[i] is the backend's sync count when stage[i]
	// was last filled (reused only after a later sync).
	stage  [2][]byte
	staged [2]uint64
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
	}
	return t, nil
}

// NextStep is the number of the step Step will run.
func (t *Trainer) NextStep() uint64 { return t.step }

// Weights downloads the master weights the next step starts from (one Sync).
func (t *Trainer) Weights() ([]*tensor.Int32, error) {
	var out []*tensor.Int32
	for _, b := range t.m {
		rows, cols := b.Shape()
		h := tensor.NewInt32(rows, cols)
		if err := t.g.dev.CopyDtoH(int32Bytes(h.Data), b.(*buf).ptr); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, t.g.Sync()
}

// Close frees the device weights and the staging buffers.
func (t *Trainer) Close() {
	for _, b := range t.m {
		t.g.Free(b)
	}
	t.m = nil
	for i, s := range t.stage {
		if s != nil {
			t.g.dev.HostFree(s)
			t.stage[i] = nil
		}
	}
}

// staging returns a pinned buffer for a step's uploads, waiting for the
// device only if the buffer's last copies may not have run yet (never when
// every step ends with a read-back, as a prover's does).
func (t *Trainer) staging(n int) ([]byte, error) {
	i := int(t.step & 1)
	if t.stage[i] == nil {
		s, err := t.g.dev.HostAlloc(n)
		if err != nil {
			return nil, err
		}
		t.stage[i] = s
	} else if t.staged[i] == t.g.syncs {
		if err := t.g.Sync(); err != nil {
			return nil, err
		}
	}
	t.staged[i] = t.g.syncs
	return t.stage[i][:n], nil
}

func (t *Trainer) rowsLaunch(kernel string, rows int, args ...uint64) error {
	const threads = 64
	return t.g.dev.Launch(kernel, [3]int{cdiv(rows, threads), 1, 1}, [3]int{threads, 1, 1}, 0, args...)
}

func (t *Trainer) elemLaunch(kernel string, n int, args ...uint64) error {
	return t.g.dev.Launch(kernel, [3]int{min(cdiv(n, 256), 4096), 1, 1}, [3]int{256, 1, 1}, 0, args...)
}

// Resident is a training step whose matrices stay on the device; the prover
// commits to them there and reads back only the rows it opens. X also has a
// host copy (the prover opens training examples against it).
type Resident struct {
	Step           uint64
	Index          []int
	Labels         []uint8
	HostX          *tensor.Int8
	X              matmul.Buffer
	Z, A, G, D, DW []matmul.Buffer // A[l−1] = A_l (l < L), D[l−1] = D_l (l < L)
	M, W, MNext    []matmul.Buffer
}

// buffers lists every buffer of the step except MNext (the trainer's next weights).
func (r *Resident) buffers() []matmul.Buffer {
	out := []matmul.Buffer{r.X}
	for _, l := range [][]matmul.Buffer{r.Z, r.A, r.G, r.D, r.DW, r.M, r.W} {
		out = append(out, l...)
	}
	return out
}

// Release frees the step's buffers, except MNext, which the trainer keeps as
// its weights.
func (r *Resident) Release(g *Backend) {
	for _, b := range r.buffers() {
		if b != nil {
			g.Free(b)
		}
	}
}

// Step runs one training step on the device and returns its trace on the host.
func (t *Trainer) Step(ctx context.Context) (*model.Trace, error) {
	r, err := t.StepResident(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Release(t.g)
	tr := &model.Trace{Step: r.Step, Index: r.Index, Labels: r.Labels, X: r.HostX}
	// Every matrix comes back in copies queued together and one Sync.
	down8 := func(x matmul.Buffer) *tensor.Int8 {
		rows, cols := x.Shape()
		h := tensor.NewInt8(rows, cols)
		if err == nil {
			err = t.g.dev.CopyDtoH(int8Bytes(h.Data), x.(*buf).ptr)
		}
		return h
	}
	down32 := func(x matmul.Buffer) *tensor.Int32 {
		rows, cols := x.Shape()
		h := tensor.NewInt32(rows, cols)
		if err == nil {
			err = t.g.dev.CopyDtoH(int32Bytes(h.Data), x.(*buf).ptr)
		}
		return h
	}
	for l := range r.Z {
		tr.M = append(tr.M, down32(r.M[l]))
		tr.W = append(tr.W, down8(r.W[l]))
		tr.Z = append(tr.Z, down32(r.Z[l]))
		tr.G = append(tr.G, down8(r.G[l]))
		tr.DW = append(tr.DW, down32(r.DW[l]))
		tr.MNext = append(tr.MNext, down32(r.MNext[l]))
	}
	for l := range r.A {
		tr.A = append(tr.A, down8(r.A[l]))
		tr.D = append(tr.D, down32(r.D[l]))
	}
	if err != nil {
		return nil, err
	}
	return tr, t.g.Sync()
}

// StepResident runs one training step on the device and leaves its matrices
// there. The caller releases it (Resident.Release) when it has proven it.
func (t *Trainer) StepResident(ctx context.Context) (res *Resident, err error) {
	cfg, d, b, g := t.cfg, t.dims, t.cfg.Batch, t.g
	L := len(d) - 1
	r := &Resident{Step: t.step, Index: make([]int, b), Labels: make([]uint8, b), HostX: tensor.NewInt8(b, d[0]), M: t.m}
	var owned []matmul.Buffer // freed if the step fails
	defer func() {
		if err != nil {
			for _, x := range owned {
				g.Free(x)
			}
		}
	}()
	alloc := func(kind tensor.Kind, rows, cols int) (*buf, error) {
		x, err := g.Alloc(kind, rows, cols)
		if err != nil {
			return nil, err
		}
		owned = append(owned, x)
		return x.(*buf), nil
	}
	for i := 0; i < b; i++ {
		idx := cfg.SampleIndex(t.step, i)
		r.Index[i], r.Labels[i] = idx, t.data.Labels[idx]
		cfg.InputRow(t.data.Image(idx), r.HostX.Row(i))
	}
	// The batch and its labels go up from pinned staging, without waiting.
	nx := b * d[0]
	stage, err := t.staging(nx + b)
	if err != nil {
		return nil, err
	}
	copy(stage, int8Bytes(r.HostX.Data))
	copy(stage[nx:], r.Labels)
	xb, err := alloc(tensor.KindInt8, b, d[0])
	if err != nil {
		return nil, err
	}
	r.X = xb
	if err := g.dev.CopyHtoD(xb.ptr, stage[:nx]); err != nil {
		return nil, err
	}
	labels, err := alloc(tensor.KindInt8, 1, b)
	if err != nil {
		return nil, err
	}
	if err := g.dev.CopyHtoD(labels.ptr, stage[nx:]); err != nil {
		return nil, err
	}

	w := make([]*buf, L)
	for l := 1; l <= L; l++ {
		if w[l-1], err = alloc(tensor.KindInt8, d[l-1], d[l]); err != nil {
			return nil, err
		}
		r.W = append(r.W, w[l-1])
		if err := t.elemLaunch("view_rows", d[l-1]*d[l], uint64(t.m[l-1].(*buf).ptr), uint64(d[l-1]*d[l]), uint64(cfg.WeightShift), uint64(w[l-1].ptr)); err != nil {
			return nil, err
		}
	}
	a := []*buf{xb} // a[l] = A_l, a[0] = X
	for l := 1; l <= L; l++ {
		z, err := alloc(tensor.KindInt32, b, d[l])
		if err != nil {
			return nil, err
		}
		r.Z = append(r.Z, z)
		if err := g.MatMul(ctx, []matmul.Product{{A: a[l-1], B: w[l-1], C: z}}); err != nil {
			return nil, err
		}
		if l < L {
			al, err := alloc(tensor.KindInt8, b, d[l])
			if err != nil {
				return nil, err
			}
			a = append(a, al)
			r.A = append(r.A, al)
			if err := t.rowsLaunch("act_rows", b, uint64(z.ptr), uint64(b), uint64(d[l]), uint64(al.ptr)); err != nil {
				return nil, err
			}
		}
	}
	gr := make([]*buf, L)
	r.G = make([]matmul.Buffer, L)
	r.D = make([]matmul.Buffer, L-1)
	if gr[L-1], err = alloc(tensor.KindInt8, b, d[L]); err != nil {
		return nil, err
	}
	r.G[L-1] = gr[L-1]
	if err := t.rowsLaunch("loss_grad_rows", b, uint64(r.Z[L-1].(*buf).ptr), uint64(b), uint64(d[L]), uint64(labels.ptr), uint64(cfg.LogitShift), uint64(gr[L-1].ptr)); err != nil {
		return nil, err
	}
	for l := L - 1; l >= 1; l-- {
		dl, err := alloc(tensor.KindInt32, b, d[l])
		if err != nil {
			return nil, err
		}
		r.D[l-1] = dl
		if err := g.MatMul(ctx, []matmul.Product{{A: gr[l], B: w[l], TransB: true, C: dl}}); err != nil {
			return nil, err
		}
		if gr[l-1], err = alloc(tensor.KindInt8, b, d[l]); err != nil {
			return nil, err
		}
		r.G[l-1] = gr[l-1]
		shift := int64(cfg.GradShift(l) - model.RefActShift)
		if err := t.rowsLaunch("back_act_rows", b, uint64(dl.ptr), uint64(r.Z[l-1].(*buf).ptr), uint64(b), uint64(d[l]), uint64(shift), uint64(gr[l-1].ptr)); err != nil {
			return nil, err
		}
	}
	for l := 1; l <= L; l++ {
		dw, err := alloc(tensor.KindInt32, d[l-1], d[l])
		if err != nil {
			return nil, err
		}
		r.DW = append(r.DW, dw)
		nb, err := alloc(tensor.KindInt32, d[l-1], d[l])
		if err != nil {
			return nil, err
		}
		r.MNext = append(r.MNext, nb)
		// DW_l = A_{l−1}ᵀ·G_l with the update fused into the GEMM's epilogue.
		lim := int64(127) << uint(cfg.WeightShift)
		if err := g.MatMulUpdate(ctx, matmul.Product{A: a[l-1], TransA: true, B: gr[l-1], C: dw}, t.m[l-1], nb,
			cfg.LRShiftAt(t.step), cfg.DecayShift, lim); err != nil {
			return nil, err
		}
	}
	// The labels are no longer needed; the step now owns the old weights
	// (r.M); the trainer moves on to MNext.
	g.Free(labels)
	t.m = r.MNext
	t.step++
	return r, nil
}
