// Package prover turns the matrices of a work unit into a signed proof
// bundle: it commits to every matrix (one Merkle tree per matrix, rows as
// leaves), samples rows (from the transcript, or from a nonce issued for the
// published commitment) and opens them. Protocol v2 asks the prover for no
// Freivalds answers: the verifier computes every projection itself from the
// matrices a bundle carries whole (docs/PROTOCOL.md §5).
//
// The prover is the miner's side; nothing here is needed to verify.
package prover

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"slices"
	"unsafe"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/internal/par"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/tensor"
)

// Matrix is one matrix of a step: a host matrix (I8 or I32), or a buffer
// resident on the step's backend (Buf), which the prover hashes, projects
// and opens there, fetching only the rows it opens.
type Matrix struct {
	I8  *tensor.Int8
	I32 *tensor.Int32
	Buf matmul.Buffer
}

func (m Matrix) shape() (kind tensor.Kind, rows, cols int) {
	switch {
	case m.I8 != nil:
		return tensor.KindInt8, m.I8.Rows, m.I8.Cols
	case m.I32 != nil:
		return tensor.KindInt32, m.I32.Rows, m.I32.Cols
	case m.Buf != nil:
		r, c := m.Buf.Shape()
		return m.Buf.Kind(), r, c
	}
	return 0, 0, 0
}

// rowBytes appends the canonical bytes of row i.
func (s *Step) rowBytes(dst []byte, m, i int) ([]byte, error) {
	x := s.Matrices[m]
	switch {
	case x.I8 != nil:
		return tensor.Int8Bytes(slices.Grow(dst, x.I8.Cols), x.I8.Row(i)), nil
	case x.I32 != nil:
		row := x.I32.Row(i)
		if littleEndian && len(row) > 0 {
			// The canonical encoding is the row's own bytes here.
			return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(&row[0])), 4*len(row))...), nil
		}
		return tensor.Int32Bytes(slices.Grow(dst, 4*len(row)), row), nil
	}
	if row, ok := s.fetched[m][i]; ok {
		return append(dst, row...), nil
	}
	_, _, cols := x.shape()
	w := cols * x.Buf.Kind().Size()
	n := len(dst)
	dst = append(dst, make([]byte, w)...)
	return dst, s.Backend.ReadRows(x.Buf, []int{i}, dst[n:])
}

// littleEndian reports whether an int32 in memory is its canonical
// (little-endian) encoding.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Step is what the prover commits to for one step of a work unit.
type Step struct {
	Task     protocol.Task
	Step     uint64
	Prev     commit.Hash // the previous step's root; zero at step 0
	Matrices []Matrix    // plan order (protocol.NewPlan)
	// Examples are the training examples of every batch row (train only).
	Examples []bundle.Example
	// Leaves holds row hashes already computed for some matrices (by the
	// backend, in the product's epilogue); Commit hashes the others.
	Leaves map[int][]commit.Hash
	// Backend holds the matrices given as Buf.
	Backend matmul.Backend
	// Keep marks resident matrices that Release must not free (a trainer's
	// next weights).
	Keep map[int]bool
	// fetched holds resident rows read back in Finish's one batch, by
	// matrix and row.
	fetched map[int]map[int][]byte
}

// Release frees the step's backend-resident matrices (those it owns: see
// Keep).
func (s *Step) Release() {
	if s.Backend == nil {
		return
	}
	for i, m := range s.Matrices {
		if m.Buf != nil && !s.Keep[i] {
			s.Backend.Free(m.Buf)
		}
		s.Matrices[i].Buf = nil
	}
}

// Pending is a committed step waiting for its row sample.
type Pending struct {
	step     *Step
	plan     *protocol.Plan
	taskID   commit.Hash
	signer   ed25519.PublicKey
	trees    []*commit.Tree
	roots    []commit.Hash
	sess     *protocol.Session
	StepRoot commit.Hash
	// Commitment binds the task, the step, its root and the signer
	// (protocol.Session): in beacon mode the miner publishes it and the
	// nonce is issued for it.
	Commitment [32]byte
}

// Commit hashes every matrix and derives the step's challenges. signer is
// the public key that will sign the bundle: the challenges depend on it.
func Commit(ctx context.Context, s *Step, signer ed25519.PublicKey) (*Pending, error) {
	plan, err := protocol.NewPlan(s.Task)
	if err != nil {
		return nil, err
	}
	if len(s.Matrices) != len(plan.Matrices) {
		return nil, fmt.Errorf("prover: %d matrices for a plan of %d", len(s.Matrices), len(plan.Matrices))
	}
	for i, ms := range plan.Matrices {
		kind, r, c := s.Matrices[i].shape()
		if kind != ms.Kind {
			return nil, fmt.Errorf("prover: matrix %s has the wrong kind", ms.Name)
		}
		if s.Matrices[i].Buf != nil && s.Backend == nil {
			return nil, fmt.Errorf("prover: matrix %s is on a backend the step does not name", ms.Name)
		}
		if r != ms.Rows || c != ms.Cols {
			return nil, fmt.Errorf("prover: matrix %s is %d×%d, the task says %d×%d", ms.Name, r, c, ms.Rows, ms.Cols)
		}
	}
	pd := &Pending{step: s, plan: plan, taskID: s.Task.ID(), signer: signer}
	if err := s.hashResident(ctx, plan, pd.taskID); err != nil {
		return nil, err
	}
	cpu := matmul.NewCPU()
	for i := range plan.Matrices {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !plan.Matrices[i].Committed() {
			pd.trees = append(pd.trees, nil)
			pd.roots = append(pd.roots, commit.Hash{})
			continue
		}
		leaves := s.Leaves[i]
		if leaves == nil {
			leaves = make([]commit.Hash, plan.Matrices[i].Rows)
			be, buf := s.on(cpu, i)
			if err := be.HashRows(ctx, buf, plan.RowKey(pd.taskID, s.Step, i), leaves); err != nil {
				return nil, err
			}
		}
		t, err := commit.New(leaves)
		if err != nil {
			return nil, err
		}
		pd.trees = append(pd.trees, t)
		pd.roots = append(pd.roots, t.Root())
	}
	pd.StepRoot = protocol.StepRoot(pd.taskID, s.Step, s.Prev, pd.roots)
	pd.sess = protocol.NewSession(plan, pd.taskID, s.Step, pd.StepRoot, signer)

	pd.Commitment = pd.sess.Commitment
	return pd, nil
}

// hashResident hashes every committed device-resident matrix in one batch
// (gpu.Backend.HashRowsBatch: one read-back, one sync) into s.Leaves.
func (s *Step) hashResident(ctx context.Context, plan *protocol.Plan, taskID commit.Hash) error {
	hb, ok := s.Backend.(interface {
		HashRowsBatch(context.Context, []gpu.HashJob) error
	})
	if !ok {
		return nil
	}
	var jobs []gpu.HashJob
	var which []int
	for i, ms := range plan.Matrices {
		if ms.Committed() && s.Leaves[i] == nil && s.Matrices[i].Buf != nil {
			jobs = append(jobs, gpu.HashJob{Buf: s.Matrices[i].Buf, Key: plan.RowKey(taskID, s.Step, i), Out: make([]commit.Hash, ms.Rows)})
			which = append(which, i)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	if err := hb.HashRowsBatch(ctx, jobs); err != nil {
		return err
	}
	if s.Leaves == nil {
		s.Leaves = map[int][]commit.Hash{}
	}
	for k, i := range which {
		s.Leaves[i] = jobs[k].Out
	}
	return nil
}

// fetchResident reads every device-resident row Finish needs (whole
// matrices and opened rows) in one batch (gpu.Backend.ReadRowsBatch: one
// read-back, one sync) into s.fetched.
func (s *Step) fetchResident(plan *protocol.Plan, variant bundle.Variant, sampled [][]int) error {
	rb, ok := s.Backend.(interface {
		ReadRowsBatch([]gpu.RowsRead) error
	})
	if !ok {
		return nil
	}
	var reads []gpu.RowsRead
	var which []int
	for m, ms := range plan.Matrices {
		if !ms.Committed() || s.Matrices[m].Buf == nil {
			continue
		}
		var rows []int
		switch {
		case variant == bundle.Full || ms.Whole:
			rows = make([]int, ms.Rows)
			for i := range rows {
				rows[i] = i
			}
		case variant == bundle.Sampled && plan.Opened(m):
			rows = sampled[ms.Group]
		default:
			continue
		}
		reads = append(reads, gpu.RowsRead{Buf: s.Matrices[m].Buf, Rows: rows, Dst: make([]byte, len(rows)*ms.RowBytes())})
		which = append(which, m)
	}
	if len(reads) == 0 {
		return nil
	}
	if err := rb.ReadRowsBatch(reads); err != nil {
		return err
	}
	s.fetched = map[int]map[int][]byte{}
	for k, m := range which {
		w := plan.Matrices[m].RowBytes()
		rows := map[int][]byte{}
		for q, i := range reads[k].Rows {
			rows[i] = reads[k].Dst[q*w : (q+1)*w]
		}
		s.fetched[m] = rows
	}
	return nil
}

// on returns the backend and buffer holding matrix i: its own backend for a
// resident matrix, the CPU for a host one.
func (s *Step) on(cpu *matmul.CPU, i int) (matmul.Backend, matmul.Buffer) {
	m := s.Matrices[i]
	switch {
	case m.Buf != nil:
		return s.Backend, m.Buf
	case m.I8 != nil:
		return cpu, cpu.WrapInt8(m.I8)
	}
	return cpu, cpu.WrapInt32(m.I32)
}

// Finish samples rows with nonce (ignored in Fiat–Shamir mode), opens them and
// signs the bundle.
func (pd *Pending) Finish(variant bundle.Variant, nonce [32]byte, key ed25519.PrivateKey) (*bundle.Bundle, []byte, error) {
	plan, s := pd.plan, pd.step
	if !pd.signer.Equal(key.Public()) {
		return nil, nil, fmt.Errorf("prover: the step was committed for another signer")
	}
	b := &bundle.Bundle{Variant: variant, Task: s.Task, Step: s.Step, Prev: s.Prev, Roots: pd.roots}
	if s.Task.Mode == protocol.ModeBeacon {
		b.Nonce = nonce
	}
	sampled := plan.SampledRows(pd.sess.SampleSeed(nonce))
	if variant != bundle.Sampled && variant != bundle.Full {
		return nil, nil, fmt.Errorf("prover: unknown variant %v", variant)
	}
	if err := s.fetchResident(plan, variant, sampled); err != nil {
		return nil, nil, err
	}
	b.Data = make([][]byte, len(plan.Matrices))
	for m, ms := range plan.Matrices {
		if !ms.Committed() || (variant == bundle.Sampled && !ms.Whole) {
			continue
		}
		data, err := s.allRows(m)
		if err != nil {
			return nil, nil, err
		}
		b.Data[m] = data
	}
	if variant == bundle.Sampled {
		b.Open = make([][]bundle.Opening, len(plan.Matrices))
		for m, ms := range plan.Matrices {
			if !plan.Opened(m) {
				continue
			}
			for _, i := range sampled[ms.Group] {
				data, err := s.rowBytes(nil, m, i)
				if err != nil {
					return nil, nil, err
				}
				b.Open[m] = append(b.Open[m], bundle.Opening{Data: data, Path: pd.trees[m].Path(i)})
			}
		}
	}
	if plan.Task.Work == protocol.WorkTrain {
		b.Examples = s.Examples
	}
	enc, err := bundle.Encode(b, key)
	if err != nil {
		return nil, nil, err
	}
	return b, enc, nil
}

// allRows returns matrix m's canonical bytes, every row.
func (s *Step) allRows(m int) ([]byte, error) {
	_, rows, cols := s.Matrices[m].shape()
	kind, _, _ := s.Matrices[m].shape()
	n := cols * kind.Size()
	if x := s.Matrices[m]; x.Buf != nil && s.fetched[m] == nil {
		all := make([]int, rows)
		for i := range all {
			all[i] = i
		}
		buf := make([]byte, rows*n)
		return buf, s.Backend.ReadRows(x.Buf, all, buf)
	}
	buf := make([]byte, 0, rows*n)
	for i := 0; i < rows; i++ {
		buf, _ = s.rowBytes(buf, m, i)
	}
	return buf, nil
}

// Release frees the step's backend-resident matrices once the bundle is made.
func (pd *Pending) Release() { pd.step.Release() }

// Roots returns the matrix roots in plan order.
func (pd *Pending) Roots() []commit.Hash { return pd.roots }

// MatMulStep runs a matmul work unit on a backend and returns its step.
func MatMulStep(ctx context.Context, be matmul.Backend, task protocol.Task) (*Step, error) {
	a, b, err := MatMulOperands(task)
	if err != nil {
		return nil, err
	}
	return MatMulOn(ctx, be, task, a, b)
}

// MatMulOperands derives a matmul unit's operands A and B from its seed.
func MatMulOperands(task protocol.Task) (a, b *tensor.Int8, err error) {
	if err := task.Validate(); err != nil {
		return nil, nil, err
	}
	if task.Work != protocol.WorkMatMul {
		return nil, nil, fmt.Errorf("prover: task is %v, not matmul", task.Work)
	}
	sp := task.MatMul
	a = tensor.NewInt8(int(sp.M), int(sp.K))
	b = tensor.NewInt8(int(sp.K), int(sp.N))
	genRows(a, sp.Seed, 'A')
	genRows(b, sp.Seed, 'B')
	return a, b, nil
}

// MatMulOn computes C = A·B for a matmul unit whose operands are already
// derived, hashing C's rows in the product's epilogue.
func MatMulOn(ctx context.Context, be matmul.Backend, task protocol.Task, a, b *tensor.Int8) (*Step, error) {
	plan, err := protocol.NewPlan(task)
	if err != nil {
		return nil, err
	}
	sp := task.MatMul
	// C's rows are hashed in the product's epilogue (a unit is step 0).
	leaves := make([]commit.Hash, sp.M)
	key := plan.RowKey(task.ID(), 0, plan.MatC)
	st := &Step{Task: task, Matrices: make([]Matrix, len(plan.Matrices)), Leaves: map[int][]commit.Hash{plan.MatC: leaves}}
	st.Matrices[plan.MatA] = Matrix{I8: a}
	st.Matrices[plan.MatB] = Matrix{I8: b}
	if cpu, ok := be.(*matmul.CPU); ok {
		// Host memory is the CPU backend's memory: no copies.
		c := matmul.NewInt32(int(sp.M), int(sp.N))
		err := cpu.MatMul(ctx, []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c), RowHashes: leaves, HashKey: key}})
		if err != nil {
			return nil, err
		}
		st.Matrices[plan.MatC] = Matrix{I32: c}
		return st, nil
	}
	// On a device C stays resident: hashed in the product, projected there,
	// and only the opened rows come back (Step.Release frees it).
	cb, err := matMulDevice(ctx, be, a, b, int(sp.M), int(sp.N), leaves, key)
	if err != nil {
		return nil, err
	}
	st.Matrices[plan.MatC] = Matrix{Buf: cb}
	st.Backend = be
	return st, nil
}

// MatMulFused runs a matmul work unit on the CPU backend with its operands
// derived inside the product: each row of A and B is generated
// (protocol.RowGen) as the GEMM packs it (matmul.CPU.GenInt8), so neither
// is stored whole nor read back from memory, and C's rows are hashed in the
// product's epilogue. The step's A and B are generated buffers on cpu
// (Step.Backend): committing and finishing need only their shapes; a
// caller that wants them stored (the succinct prover) uses MatMulOperands
// and MatMulOn. tm, if not nil, collects the product's timing.
func MatMulFused(ctx context.Context, cpu *matmul.CPU, task protocol.Task, tm *matmul.Timing) (*Step, error) {
	if err := task.Validate(); err != nil {
		return nil, err
	}
	if task.Work != protocol.WorkMatMul {
		return nil, fmt.Errorf("prover: task is %v, not matmul", task.Work)
	}
	plan, err := protocol.NewPlan(task)
	if err != nil {
		return nil, err
	}
	sp := task.MatMul
	ga, gb := protocol.NewRowGen(sp.Seed, 'A'), protocol.NewRowGen(sp.Seed, 'B')
	a := cpu.GenInt8(int(sp.M), int(sp.K), ga.Row)
	b := cpu.GenInt8(int(sp.K), int(sp.N), gb.Row)
	c := matmul.NewInt32(int(sp.M), int(sp.N))
	leaves := make([]commit.Hash, sp.M)
	key := plan.RowKey(task.ID(), 0, plan.MatC)
	if err := cpu.MatMul(ctx, []matmul.Product{{A: a, B: b, C: cpu.WrapInt32(c), RowHashes: leaves, HashKey: key, Timing: tm}}); err != nil {
		return nil, err
	}
	st := &Step{Task: task, Matrices: make([]Matrix, len(plan.Matrices)), Leaves: map[int][]commit.Hash{plan.MatC: leaves}, Backend: cpu}
	st.Matrices[plan.MatA] = Matrix{Buf: a}
	st.Matrices[plan.MatB] = Matrix{Buf: b}
	st.Matrices[plan.MatC] = Matrix{I32: c}
	return st, nil
}

// matMulDevice runs the product on a backend with its own memory: upload the
// operands, multiply (hashing C's rows there), and return C's buffer.
func matMulDevice(ctx context.Context, be matmul.Backend, a, b *tensor.Int8, m, n int, leaves []commit.Hash, key [32]byte) (matmul.Buffer, error) {
	ab, err := be.UploadInt8(a)
	if err != nil {
		return nil, err
	}
	defer be.Free(ab)
	bb, err := be.UploadInt8(b)
	if err != nil {
		return nil, err
	}
	defer be.Free(bb)
	cb, err := be.Alloc(tensor.KindInt32, m, n)
	if err != nil {
		return nil, err
	}
	if err := be.MatMul(ctx, []matmul.Product{{A: ab, B: bb, C: cb, RowHashes: leaves, HashKey: key}}); err != nil {
		be.Free(cb)
		return nil, err
	}
	return cb, nil
}

func genRows(m *tensor.Int8, seed uint64, which byte) {
	g := protocol.NewRowGen(seed, which)
	par.Range(m.Rows, 0, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g.Row(i, m.Row(i))
		}
	})
}

// ResidentStep maps a training step that stayed on the device onto the plan
// of its task. The step owns the buffers (Step.Release frees them) except the
// next weights, which the trainer keeps.
func ResidentStep(task protocol.Task, prev commit.Hash, r *gpu.Resident, be *gpu.Backend, examples []bundle.Example) (*Step, error) {
	plan, err := protocol.NewPlan(task)
	if err != nil {
		return nil, err
	}
	st := &Step{Task: task, Step: r.Step, Prev: prev, Matrices: make([]Matrix, len(plan.Matrices)), Backend: be,
		Keep: map[int]bool{}, Examples: examples}
	st.Matrices[plan.X] = Matrix{Buf: r.X}
	for l := range plan.Z {
		st.Matrices[plan.Z[l]] = Matrix{Buf: r.Z[l]}
		st.Matrices[plan.G[l]] = Matrix{Buf: r.G[l]}
		st.Matrices[plan.M[l]] = Matrix{Buf: r.M[l]}
		st.Matrices[plan.DW[l]] = Matrix{Buf: r.DW[l]}
		st.Matrices[plan.MNext[l]] = Matrix{Buf: r.MNext[l]}
		st.Keep[plan.MNext[l]] = true
		st.Matrices[plan.W[l]] = Matrix{Buf: r.W[l]}
	}
	for l := range plan.A {
		st.Matrices[plan.A[l]] = Matrix{Buf: r.A[l]}
		st.Matrices[plan.D[l]] = Matrix{Buf: r.D[l]}
	}
	return st, nil
}

// TrainStep maps a training trace onto the plan of its task.
func TrainStep(task protocol.Task, prev commit.Hash, tr *model.Trace, examples []bundle.Example) (*Step, error) {
	plan, err := protocol.NewPlan(task)
	if err != nil {
		return nil, err
	}
	st := &Step{Task: task, Step: tr.Step, Prev: prev, Matrices: make([]Matrix, len(plan.Matrices)), Examples: examples}
	st.Matrices[plan.X] = Matrix{I8: tr.X}
	for l := range plan.Z {
		st.Matrices[plan.Z[l]] = Matrix{I32: tr.Z[l]}
		st.Matrices[plan.G[l]] = Matrix{I8: tr.G[l]}
		st.Matrices[plan.M[l]] = Matrix{I32: tr.M[l]}
		st.Matrices[plan.DW[l]] = Matrix{I32: tr.DW[l]}
		st.Matrices[plan.MNext[l]] = Matrix{I32: tr.MNext[l]}
		st.Matrices[plan.W[l]] = Matrix{I8: tr.W[l]}
	}
	for l := range plan.A {
		st.Matrices[plan.A[l]] = Matrix{I8: tr.A[l]}
		st.Matrices[plan.D[l]] = Matrix{I32: tr.D[l]}
	}
	for i, m := range st.Matrices {
		if m.I8 == nil && m.I32 == nil {
			return nil, fmt.Errorf("prover: trace lacks matrix %s", plan.Matrices[i].Name)
		}
	}
	return st, nil
}
