// Package prover turns the matrices of a work unit into a signed proof
// bundle: it commits to every matrix (one Merkle tree per matrix, rows as
// leaves), answers the Freivalds challenges with projections, samples rows
// (from the transcript or from a nonce supplied after the commitment) and
// opens them.
//
// The prover is the miner's side; nothing here is needed to verify.
package prover

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"runtime"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/internal/par"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/tensor"
)

// Matrix is one host matrix of a step: exactly one field is set.
type Matrix struct {
	I8  *tensor.Int8
	I32 *tensor.Int32
}

func (m Matrix) rowBytes(dst []byte, i int) []byte {
	if m.I8 != nil {
		return tensor.Int8Bytes(dst, m.I8.Row(i))
	}
	return tensor.Int32Bytes(dst, m.I32.Row(i))
}

// Step is what the prover commits to for one step of a work unit.
type Step struct {
	Task     protocol.Task
	Step     uint64
	Prev     commit.Hash // the previous step's root; zero at step 0
	Matrices []Matrix    // plan order (protocol.NewPlan)
	// Views holds, for int32 matrices used through their int8 view, that view.
	Views map[int]*tensor.Int8
	// Examples are the training examples of every batch row (train only).
	Examples []bundle.Example
	// Leaves holds row hashes already computed for some matrices (by the
	// backend, in the product's epilogue); Commit hashes the others.
	Leaves map[int][]commit.Hash
}

// Pending is a committed and answered step waiting for its row sample.
type Pending struct {
	step     *Step
	plan     *protocol.Plan
	taskID   commit.Hash
	signer   ed25519.PublicKey
	trees    []*commit.Tree
	roots    []commit.Hash
	answers  []protocol.Answer
	sess     *protocol.Session
	StepRoot commit.Hash
	// Commitment is the transcript state after the answers: in beacon mode
	// the nonce must be drawn after it is published.
	Commitment [32]byte
}

// Commit hashes every matrix, derives the Freivalds challenges and answers
// them. signer is the public key that will sign the bundle: the challenges
// depend on it.
func Commit(ctx context.Context, s *Step, signer ed25519.PublicKey) (*Pending, error) {
	plan, err := protocol.NewPlan(s.Task)
	if err != nil {
		return nil, err
	}
	if len(s.Matrices) != len(plan.Matrices) {
		return nil, fmt.Errorf("prover: %d matrices for a plan of %d", len(s.Matrices), len(plan.Matrices))
	}
	for i, ms := range plan.Matrices {
		m := s.Matrices[i]
		var r, c int
		switch {
		case ms.Kind == tensor.KindInt8 && m.I8 != nil:
			r, c = m.I8.Rows, m.I8.Cols
		case ms.Kind == tensor.KindInt32 && m.I32 != nil:
			r, c = m.I32.Rows, m.I32.Cols
		default:
			return nil, fmt.Errorf("prover: matrix %s has the wrong kind", ms.Name)
		}
		if r != ms.Rows || c != ms.Cols {
			return nil, fmt.Errorf("prover: matrix %s is %d×%d, the task says %d×%d", ms.Name, r, c, ms.Rows, ms.Cols)
		}
	}
	pd := &Pending{step: s, plan: plan, taskID: s.Task.ID(), signer: signer}
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
			if err := cpu.HashRows(ctx, wrap(cpu, s.Matrices[i]), commit.LeafPrefix(plan.MatrixDomain(pd.taskID, s.Step, i)), leaves); err != nil {
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

	pd.answers = make([]protocol.Answer, len(plan.Products))
	for pi, p := range plan.Products {
		r := pd.sess.R[pi]
		a := &pd.answers[pi]
		a.C = project(cpu, wrap(cpu, s.Matrices[p.C]), r)
		bop := s.operand(p.B)
		if !p.B.Trans {
			a.Q = project(cpu, cpu.WrapInt8(bop), r)
		} else {
			a.Q = projectCols(bop, r)
		}
	}
	if err := pd.sess.RoundOne(pd.answers); err != nil {
		return nil, err
	}
	for pi, p := range plan.Products {
		a := &pd.answers[pi]
		if p.B.Trans {
			a.W = project(cpu, cpu.WrapInt8(s.operand(p.B)), pd.sess.S[pi])
		}
		if p.A.Trans {
			a.Y = project(cpu, cpu.WrapInt8(s.operand(p.A)), pd.sess.T[pi])
		}
	}
	if pd.Commitment, err = pd.sess.RoundTwo(pd.answers); err != nil {
		return nil, err
	}
	return pd, nil
}

func wrap(cpu *matmul.CPU, m Matrix) matmul.Buffer {
	if m.I8 != nil {
		return cpu.WrapInt8(m.I8)
	}
	return cpu.WrapInt32(m.I32)
}

func (s *Step) operand(o protocol.Operand) *tensor.Int8 {
	if o.View {
		return s.Views[o.Matrix]
	}
	return s.Matrices[o.Matrix].I8
}

func project(cpu *matmul.CPU, b matmul.Buffer, r []field.Elem) []field.Elem {
	rows, _ := b.Shape()
	out := make([]field.Elem, rows)
	if err := cpu.Project(context.Background(), b, r, out); err != nil {
		panic(err) // shapes were checked against the plan
	}
	return out
}

// projectCols returns bᵀ·r: out[j] = Σ_i r[i]·b[i][j].
func projectCols(b *tensor.Int8, r []field.Elem) []field.Elem {
	out := make([]field.Elem, b.Cols)
	par.Range(b.Cols, min(runtime.GOMAXPROCS(0), max(1, b.Cols/64)), func(lo, hi int) {
		for i := 0; i < b.Rows; i++ {
			row := b.Row(i)[lo:hi]
			for j, x := range row {
				out[lo+j] = field.Add(out[lo+j], field.Mul(field.FromInt64(int64(x)), r[i]))
			}
		}
	})
	return out
}

// Finish samples rows with nonce (ignored in Fiat–Shamir mode), opens them and
// signs the bundle.
func (pd *Pending) Finish(variant bundle.Variant, nonce [32]byte, key ed25519.PrivateKey) (*bundle.Bundle, []byte, error) {
	plan, s := pd.plan, pd.step
	if !pd.signer.Equal(key.Public()) {
		return nil, nil, fmt.Errorf("prover: the step was committed for another signer")
	}
	b := &bundle.Bundle{Variant: variant, Task: s.Task, Step: s.Step, Prev: s.Prev, Roots: pd.roots, Answers: pd.answers}
	if s.Task.Mode == protocol.ModeBeacon {
		b.Nonce = nonce
	}
	sampled := plan.SampledRows(pd.sess.SampleSeed(nonce))
	switch variant {
	case bundle.Sampled:
		b.Open = make([][]bundle.Opening, len(plan.Matrices))
		for m, ms := range plan.Matrices {
			if !ms.Committed() {
				continue
			}
			for _, i := range sampled[ms.Group] {
				b.Open[m] = append(b.Open[m], bundle.Opening{Data: s.Matrices[m].rowBytes(nil, i), Path: pd.trees[m].Path(i)})
			}
		}
		if plan.Task.Work == protocol.WorkTrain {
			for _, i := range sampled[plan.BatchGroup] {
				b.Examples = append(b.Examples, s.Examples[i])
			}
		}
	case bundle.Full:
		b.Data = make([][]byte, len(plan.Matrices))
		for m, ms := range plan.Matrices {
			if !ms.Committed() {
				continue
			}
			buf := make([]byte, 0, ms.Rows*ms.RowBytes())
			for i := 0; i < ms.Rows; i++ {
				buf = s.Matrices[m].rowBytes(buf, i)
			}
			b.Data[m] = buf
		}
		if plan.Task.Work == protocol.WorkTrain {
			b.Examples = s.Examples
		}
	default:
		return nil, nil, fmt.Errorf("prover: unknown variant %v", variant)
	}
	enc, err := bundle.Encode(b, key)
	if err != nil {
		return nil, nil, err
	}
	return b, enc, nil
}

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
	c := tensor.NewInt32(int(sp.M), int(sp.N))
	// C's rows are hashed in the product's epilogue (a unit is step 0).
	leaves := make([]commit.Hash, sp.M)
	prefix := commit.LeafPrefix(plan.MatrixDomain(task.ID(), 0, plan.MatC))
	if cpu, ok := be.(*matmul.CPU); ok {
		// Host memory is the CPU backend's memory: no copies.
		err := cpu.MatMul(ctx, []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c), RowHashes: leaves, HashPrefix: prefix}})
		if err != nil {
			return nil, err
		}
	} else if err := matMulDevice(ctx, be, a, b, c, leaves, prefix); err != nil {
		return nil, err
	}
	st := &Step{Task: task, Matrices: make([]Matrix, len(plan.Matrices)), Leaves: map[int][]commit.Hash{plan.MatC: leaves}}
	st.Matrices[plan.MatA] = Matrix{I8: a}
	st.Matrices[plan.MatB] = Matrix{I8: b}
	st.Matrices[plan.MatC] = Matrix{I32: c}
	return st, nil
}

// matMulDevice runs the product on a backend with its own memory: upload,
// multiply (hashing C's rows on the device), download.
func matMulDevice(ctx context.Context, be matmul.Backend, a, b *tensor.Int8, c *tensor.Int32, leaves []commit.Hash, prefix []byte) error {
	ab, err := be.UploadInt8(a)
	if err != nil {
		return err
	}
	defer be.Free(ab)
	bb, err := be.UploadInt8(b)
	if err != nil {
		return err
	}
	defer be.Free(bb)
	cb, err := be.Alloc(tensor.KindInt32, c.Rows, c.Cols)
	if err != nil {
		return err
	}
	defer be.Free(cb)
	if err := be.MatMul(ctx, []matmul.Product{{A: ab, B: bb, C: cb, RowHashes: leaves, HashPrefix: prefix}}); err != nil {
		return err
	}
	return be.DownloadInt32(cb, c)
}

func genRows(m *tensor.Int8, seed uint64, which byte) {
	par.Range(m.Rows, 0, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			protocol.GenRow(seed, which, i, m.Row(i))
		}
	})
}

// TrainStep maps a training trace onto the plan of its task.
func TrainStep(task protocol.Task, prev commit.Hash, tr *model.Trace, examples []bundle.Example) (*Step, error) {
	plan, err := protocol.NewPlan(task)
	if err != nil {
		return nil, err
	}
	st := &Step{Task: task, Step: tr.Step, Prev: prev, Matrices: make([]Matrix, len(plan.Matrices)), Views: map[int]*tensor.Int8{}, Examples: examples}
	st.Matrices[plan.X] = Matrix{I8: tr.X}
	for l := range plan.Z {
		st.Matrices[plan.Z[l]] = Matrix{I32: tr.Z[l]}
		st.Matrices[plan.G[l]] = Matrix{I8: tr.G[l]}
		st.Matrices[plan.M[l]] = Matrix{I32: tr.M[l]}
		st.Matrices[plan.DW[l]] = Matrix{I32: tr.DW[l]}
		st.Matrices[plan.MNext[l]] = Matrix{I32: tr.MNext[l]}
		st.Views[plan.M[l]] = tr.W[l]
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
