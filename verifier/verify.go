package verifier

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/tensor"
)

// Mode is how a bundle is checked.
type Mode uint8

const (
	// Auto checks a full-data bundle in full mode and a sampled one in sampled mode.
	Auto Mode = iota
	// Full checks every row of every matrix: exact, soundness error ≤ (products·2)/p.
	Full
	// Sampled checks only the opened rows (of a full-data bundle: the rows
	// the challenge samples).
	Sampled
)

func (m Mode) String() string {
	switch m {
	case Full:
		return "full"
	case Sampled:
		return "sampled"
	}
	return "auto"
}

// Options configure Verify. The zero value accepts any signer and any task
// over the Fashion-MNIST training set.
type Options struct {
	Mode Mode
	// Keys, when not empty, are the only signers accepted.
	Keys []ed25519.PublicKey
	// TaskID, when set, is the only task accepted.
	TaskID *commit.Hash
	// DatasetRoot is the training set's Merkle root that train tasks must
	// name; nil means FashionMNISTRoot.
	DatasetRoot *commit.Hash
	// Nonce returns the nonce the verifier (or beacon) issued for a step of a
	// beacon-mode task; a bundle answering another nonce is stale. Beacon-mode
	// bundles are rejected when Nonce is nil.
	Nonce func(taskID commit.Hash, step uint64) ([32]byte, bool)
}

// Result describes an accepted bundle.
type Result struct {
	TaskID   commit.Hash
	Work     protocol.Work
	Step     uint64
	Prev     commit.Hash
	StepRoot commit.Hash
	Mode     Mode
	Rows     int // rows checked, over all matrices
	Products int
	Signer   ed25519.PublicKey
	roots    []commit.Hash
	plan     *protocol.Plan
	outRoots []commit.Hash // train: the updated weights' roots
	inRoots  []commit.Hash // train: the input weights' roots
}

// Verify checks one decoded bundle on its own: signature and signer, task,
// commitments, every Freivalds check and every row function. It does not
// know the previous step; Chain adds that.
func Verify(b *bundle.Bundle, opt Options) (*Result, error) {
	if len(opt.Keys) > 0 {
		ok := false
		for _, k := range opt.Keys {
			ok = ok || bytes.Equal(k, b.PublicKey)
		}
		if !ok {
			return nil, fmt.Errorf("%w: %x", ErrKey, []byte(b.PublicKey))
		}
	}
	taskID := b.Task.ID()
	if opt.TaskID != nil && *opt.TaskID != taskID {
		return nil, fmt.Errorf("%w: bundle is for task %x, expected %x", ErrTask, taskID[:8], opt.TaskID[:8])
	}
	if b.Task.Work == protocol.WorkTrain {
		want := FashionMNISTRoot
		if opt.DatasetRoot != nil {
			want = *opt.DatasetRoot
		}
		if b.Task.DatasetRoot != want {
			return nil, fmt.Errorf("%w: task trains on data set %x, expected %x", ErrTask, b.Task.DatasetRoot[:8], want[:8])
		}
	}
	mode := opt.Mode
	if mode == Auto {
		mode = Sampled
		if b.Variant == bundle.Full {
			mode = Full
		}
	}
	if mode == Full && b.Variant != bundle.Full {
		return nil, fmt.Errorf("%w: full mode needs a full-data bundle, got %v", ErrMode, b.Variant)
	}
	plan, err := protocol.NewPlan(b.Task)
	if err != nil {
		return nil, err
	}
	v := &checker{b: b, plan: plan, step: b.Step, taskID: taskID}

	// Commitments: in a full-data bundle the roots are recomputed from the data.
	if b.Variant == bundle.Full {
		if err := v.checkFullRoots(); err != nil {
			return nil, err
		}
	}
	stepRoot := protocol.StepRoot(taskID, b.Step, b.Prev, b.Roots)

	// Challenges, replayed exactly as the prover ran them.
	s := protocol.NewSession(plan, taskID, b.Step, stepRoot, b.PublicKey)
	if err := s.RoundOne(b.Answers); err != nil {
		return nil, fmt.Errorf("%w: %w", bundle.ErrFormat, err)
	}
	commitment, err := s.RoundTwo(b.Answers)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", bundle.ErrFormat, err)
	}
	_ = commitment
	if b.Task.Mode == protocol.ModeBeacon {
		if opt.Nonce == nil {
			return nil, fmt.Errorf("%w: step %d is beacon-mode and no nonce was issued", ErrStale, b.Step)
		}
		want, ok := opt.Nonce(taskID, b.Step)
		if !ok || want != b.Nonce {
			return nil, fmt.Errorf("%w: step %d answers nonce %x, not the one issued", ErrStale, b.Step, b.Nonce[:8])
		}
	}
	sampled := plan.SampledRows(s.SampleSeed(b.Nonce))
	v.sess = s
	if mode == Full {
		v.rows = make([][]int, len(plan.Groups))
		for g, gs := range plan.Groups {
			v.rows[g] = make([]int, gs.Rows)
			for i := range v.rows[g] {
				v.rows[g][i] = i
			}
		}
	} else {
		v.rows = sampled
	}
	if err := v.index(sampled); err != nil {
		return nil, err
	}
	if b.Variant == bundle.Sampled {
		if err := v.checkOpenings(sampled); err != nil {
			return nil, err
		}
	}
	if err := v.checkProducts(); err != nil {
		return nil, err
	}
	if b.Task.Work == protocol.WorkTrain {
		if err := v.checkTrainRows(); err != nil {
			return nil, err
		}
	}
	res := &Result{TaskID: taskID, Work: b.Task.Work, Step: b.Step, Prev: b.Prev, StepRoot: stepRoot, Mode: mode,
		Products: len(plan.Products), Signer: b.PublicKey, roots: b.Roots, plan: plan}
	for g := range plan.Groups {
		res.Rows += len(v.rows[g]) * len(plan.Groups[g].Matrices)
	}
	if b.Task.Work == protocol.WorkTrain {
		for l := range plan.M {
			res.inRoots = append(res.inRoots, b.Roots[plan.M[l]])
			res.outRoots = append(res.outRoots, b.Roots[plan.MNext[l]])
		}
	}
	return res, nil
}

// checker holds one bundle's verification state.
type checker struct {
	b      *bundle.Bundle
	plan   *protocol.Plan
	step   uint64
	taskID commit.Hash
	sess   *protocol.Session
	rows   [][]int       // rows to check, per group
	pos    []map[int]int // sampled variant: row → position in the group's openings
}

func (v *checker) fail(matrix int, row int, product, check string) error {
	name := ""
	if matrix >= 0 {
		name = v.plan.Matrices[matrix].Name
	}
	return &CheckError{Step: v.step, Matrix: name, Row: row, Product: product, Check: check}
}

func (v *checker) index(sampled [][]int) error {
	if v.b.Variant != bundle.Sampled {
		return nil
	}
	v.pos = make([]map[int]int, len(sampled))
	for g, rows := range sampled {
		v.pos[g] = make(map[int]int, len(rows))
		for k, i := range rows {
			v.pos[g][i] = k
		}
	}
	return nil
}

// raw returns the canonical bytes of row i of matrix m.
func (v *checker) raw(m, i int) []byte {
	ms := v.plan.Matrices[m]
	if !ms.Committed() {
		row := make([]int8, ms.Cols)
		protocol.GenRow(v.plan.Task.MatMul.Seed, ms.Derived, i, row)
		return unsafe.Slice((*byte)(unsafe.Pointer(&row[0])), len(row))
	}
	if v.b.Variant == bundle.Full {
		n := ms.RowBytes()
		return v.b.Data[m][i*n : (i+1)*n]
	}
	return v.b.Open[m][v.pos[ms.Group][i]].Data
}

func asInt8(b []byte) []int8 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&b[0])), len(b))
}

func (v *checker) int8Row(m, i int) []int8 { return asInt8(v.raw(m, i)) }

func (v *checker) int32Row(m, i int, dst []int32) []int32 {
	b := v.raw(m, i)
	dst = dst[:len(b)/4]
	for j := range dst {
		dst[j] = int32(binary.LittleEndian.Uint32(b[4*j:]))
	}
	return dst
}

// dot projects row i of matrix m (or of its int8 view) onto x.
func (v *checker) dot(m int, view bool, i int, x []field.Elem, scratch []int32, vbuf []int8) field.Elem {
	ms := v.plan.Matrices[m]
	if ms.Kind == tensor.KindInt8 {
		return field.DotInt8(v.int8Row(m, i), x)
	}
	row := v.int32Row(m, i, scratch)
	if view {
		v.plan.Task.Train.ViewRow(row, vbuf[:len(row)])
		return field.DotInt8(vbuf[:len(row)], x)
	}
	return field.DotInt32(row, x)
}

// eachRow runs f over rows in parallel (full mode has many), returning the
// first error in row order.
func eachRow(rows []int, f func(i int, scratch []int32, vbuf []int8) error, width int) error {
	workers := runtime.GOMAXPROCS(0)
	if len(rows) < 64 {
		workers = 1
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	chunk := (len(rows) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(rows))
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func(w int, part []int) {
			defer wg.Done()
			scratch := make([]int32, width)
			vbuf := make([]int8, width)
			for _, i := range part {
				if err := f(i, scratch, vbuf); err != nil {
					errs[w] = err
					return
				}
			}
		}(w, rows[lo:hi])
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (v *checker) maxCols() int {
	w := 0
	for _, m := range v.plan.Matrices {
		w = max(w, m.Cols)
	}
	return w
}

func (v *checker) checkProducts() error {
	width := v.maxCols()
	for pi, p := range v.plan.Products {
		a := v.b.Answers[pi]
		r := v.sess.R[pi]
		cg := v.plan.Matrices[p.C].Group
		// c = C·r on C's rows.
		if err := eachRow(v.rows[cg], func(i int, sc []int32, vb []int8) error {
			if v.dot(p.C, false, i, r, sc, vb) != a.C[i] {
				return v.fail(p.C, i, p.Name, "freivalds projection C·r")
			}
			return nil
		}, width); err != nil {
			return err
		}
		bg := v.plan.Matrices[p.B.Matrix].Group
		if !p.B.Trans {
			// q = B·r on B's rows.
			if err := eachRow(v.rows[bg], func(j int, sc []int32, vb []int8) error {
				if v.dot(p.B.Matrix, p.B.View, j, r, sc, vb) != a.Q[j] {
					return v.fail(p.B.Matrix, j, p.Name, "freivalds projection B·r")
				}
				return nil
			}, width); err != nil {
				return err
			}
		} else {
			// q = Bᵀ·r: w = B·s on B's rows and q·s = r·w.
			s := v.sess.S[pi]
			if err := eachRow(v.rows[bg], func(j int, sc []int32, vb []int8) error {
				if v.dot(p.B.Matrix, p.B.View, j, s, sc, vb) != a.W[j] {
					return v.fail(p.B.Matrix, j, p.Name, "freivalds projection B·s")
				}
				return nil
			}, width); err != nil {
				return err
			}
			if field.Dot(a.Q, s) != field.Dot(r, a.W) {
				return v.fail(-1, -1, p.Name, "freivalds identity q·s = r·(B·s)")
			}
		}
		ag := v.plan.Matrices[p.A.Matrix].Group
		if !p.A.Trans {
			// c = A·q on A's rows (A and C share their row group).
			if err := eachRow(v.rows[ag], func(i int, sc []int32, vb []int8) error {
				if v.dot(p.A.Matrix, p.A.View, i, a.Q, sc, vb) != a.C[i] {
					return v.fail(p.A.Matrix, i, p.Name, "freivalds identity A·q = C·r")
				}
				return nil
			}, width); err != nil {
				return err
			}
		} else {
			// c = Aᵀ·q: y = A·t on A's rows and c·t = q·y.
			t := v.sess.T[pi]
			if err := eachRow(v.rows[ag], func(j int, sc []int32, vb []int8) error {
				if v.dot(p.A.Matrix, p.A.View, j, t, sc, vb) != a.Y[j] {
					return v.fail(p.A.Matrix, j, p.Name, "freivalds projection A·t")
				}
				return nil
			}, width); err != nil {
				return err
			}
			if field.Dot(a.C, t) != field.Dot(a.Q, a.Y) {
				return v.fail(-1, -1, p.Name, "freivalds identity c·t = q·(A·t)")
			}
		}
	}
	return nil
}

// checkOpenings checks every opened row against its matrix root.
func (v *checker) checkOpenings(sampled [][]int) error {
	for m, ms := range v.plan.Matrices {
		if !ms.Committed() {
			continue
		}
		prefix := commit.LeafPrefix(v.plan.MatrixDomain(v.taskID, v.step, m))
		for k, i := range sampled[ms.Group] {
			o := v.b.Open[m][k]
			leaf := commit.Leaf(prefix, uint32(i), o.Data)
			if err := commit.Verify(v.b.Roots[m], leaf, i, ms.Rows, o.Path); err != nil {
				return v.fail(m, i, "", "merkle opening")
			}
		}
	}
	return nil
}

// checkFullRoots recomputes every matrix root from a full-data bundle.
func (v *checker) checkFullRoots() error {
	for m, ms := range v.plan.Matrices {
		if !ms.Committed() {
			continue
		}
		prefix := commit.LeafPrefix(v.plan.MatrixDomain(v.taskID, v.step, m))
		leaves := make([]commit.Hash, ms.Rows)
		all := make([]int, ms.Rows)
		for i := range all {
			all[i] = i
		}
		_ = eachRow(all, func(i int, _ []int32, _ []int8) error {
			leaves[i] = commit.Leaf(prefix, uint32(i), v.raw(m, i))
			return nil
		}, 0)
		root, err := commit.Root(leaves)
		if err != nil {
			return err
		}
		if root != v.b.Roots[m] {
			return v.fail(m, -1, "", "matrix root")
		}
	}
	return nil
}

func eq8(a, b []int8) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func eq32(a, b []int32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func (v *checker) checkTrainRows() error {
	p := v.plan
	cfg := p.Task.Train
	d := cfg.Dims()
	L := len(d) - 1
	width := v.maxCols()
	// Batch rows: the example, the forward and the backward row functions.
	bg := p.BatchGroup
	for k, i := range v.rows[bg] {
		ex := v.b.Examples[k]
		if v.b.Variant == bundle.Full {
			ex = v.b.Examples[i]
		}
		idx := cfg.SampleIndex(v.step, i)
		leaf := protocol.DatasetLeaf(idx, ex.Label, ex.Image)
		if err := commit.Verify(p.Task.DatasetRoot, leaf, idx, model.TrainExamples, ex.Path); err != nil {
			return v.fail(p.X, i, "", fmt.Sprintf("training example %d opening", idx))
		}
		x := make([]int8, d[0])
		cfg.InputRow(ex.Image, x)
		if !eq8(x, v.int8Row(p.X, i)) {
			return v.fail(p.X, i, "", fmt.Sprintf("input row = training example %d", idx))
		}
		z := make([]int32, width)
		z2 := make([]int32, width)
		out := make([]int8, width)
		for l := 1; l < L; l++ {
			zr := v.int32Row(p.Z[l-1], i, z)
			cfg.ActRow(l, zr, out[:d[l]])
			if !eq8(out[:d[l]], v.int8Row(p.A[l-1], i)) {
				return v.fail(p.A[l-1], i, "", fmt.Sprintf("activation A%d = act(Z%d)", l, l))
			}
		}
		zr := v.int32Row(p.Z[L-1], i, z)
		cfg.LossGradRow(zr, ex.Label, out[:d[L]])
		if !eq8(out[:d[L]], v.int8Row(p.G[L-1], i)) {
			return v.fail(p.G[L-1], i, "", fmt.Sprintf("loss gradient G%d", L))
		}
		for l := 1; l < L; l++ {
			dr := v.int32Row(p.D[l-1], i, z)
			zr := v.int32Row(p.Z[l-1], i, z2)
			cfg.BackActRow(l, dr, zr, out[:d[l]])
			if !eq8(out[:d[l]], v.int8Row(p.G[l-1], i)) {
				return v.fail(p.G[l-1], i, "", fmt.Sprintf("gradient G%d = backact(D%d, Z%d)", l, l, l))
			}
		}
	}
	// Weight rows: the initial weights at step 0, and the update.
	for l := 1; l <= L; l++ {
		g := p.Matrices[p.M[l-1]].Group
		if err := eachRow(v.rows[g], func(j int, sc []int32, _ []int8) error {
			m := append([]int32(nil), v.int32Row(p.M[l-1], j, sc)...)
			if v.step == 0 {
				want := make([]int32, d[l])
				cfg.InitRow(l, j, want)
				if !eq32(want, m) {
					return v.fail(p.M[l-1], j, "", "initial weights from the task seed")
				}
			}
			dw := append([]int32(nil), v.int32Row(p.DW[l-1], j, sc)...)
			want := make([]int32, d[l])
			cfg.UpdateRow(l, v.step, m, dw, want)
			if !eq32(want, v.int32Row(p.MNext[l-1], j, sc)) {
				return v.fail(p.MNext[l-1], j, "", fmt.Sprintf("weight update M%d' = update(M%d, DW%d)", l, l, l))
			}
			return nil
		}, width); err != nil {
			return err
		}
	}
	return nil
}
