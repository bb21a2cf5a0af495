package verifier

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/internal/par"
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

// Options configure Verify. A node must say which tasks it accepts: set
// TaskID or Tasks, or AnyTask to accept whatever task a miner names (only for
// tools that inspect bundles; a miner can invent a task that is cheap to
// fake, such as one sample, one hidden unit and a batch of one).
type Options struct {
	Mode Mode
	// Keys, when not empty, are the only signers accepted.
	Keys []ed25519.PublicKey
	// TaskID, when set, is the only task accepted.
	TaskID *commit.Hash
	// Tasks, when not empty, is the allow-list of accepted task ids.
	Tasks []commit.Hash
	// AnyTask accepts any task when neither TaskID nor Tasks is set.
	AnyTask bool
	// DatasetRoot is the training set's Merkle root that train tasks must
	// name; nil means FashionMNISTRoot.
	DatasetRoot *commit.Hash
	// Nonce returns the nonce the verifier (or beacon) issued for a step of a
	// beacon-mode task after the miner published commitment (the step's
	// Result.Commitment, prover.Pending.Commitment). A bundle answering
	// another nonce, or a nonce issued for another commitment, is stale.
	// Beacon-mode bundles are rejected when Nonce is nil.
	Nonce func(taskID commit.Hash, step uint64, commitment [32]byte) ([32]byte, bool)
}

// ErrNoTask is returned (wrapping ErrTask) when Options name no task and do
// not set AnyTask.
var ErrNoTask = fmt.Errorf("%w: no task pinned (set Options.TaskID, Options.Tasks or Options.AnyTask)", ErrTask)

// Result describes an accepted bundle.
type Result struct {
	TaskID   commit.Hash
	Work     protocol.Work
	Step     uint64
	Prev     commit.Hash
	StepRoot commit.Hash
	// Commitment is what a beacon-mode miner publishes before its nonce
	// (protocol.Session.Commitment); Nonce is the nonce the rows answer.
	Commitment [32]byte
	Nonce      [32]byte
	Mode       Mode
	Rows       int // rows checked, over all matrices
	Products   int
	Signer     ed25519.PublicKey // a copy: a Result does not keep its bundle alive
	plan       *protocol.Plan
	outRoots   []commit.Hash // train: the updated weights' roots
	inRoots    []commit.Hash // train: the input weights' roots
}

// WeightRoots returns the roots of a train step's input weights M_l and of
// its output weights M′_l (nil for matmul units): a Checkpoint is built from
// the output roots of a step a node trusts.
func (r *Result) WeightRoots() (in, out []commit.Hash) {
	return slices.Clone(r.inRoots), slices.Clone(r.outRoots)
}

func (opt *Options) taskAllowed(id commit.Hash) error {
	switch {
	case opt.TaskID != nil:
		if *opt.TaskID != id {
			return fmt.Errorf("%w: bundle is for task %x, expected %x", ErrTask, id[:8], opt.TaskID[:8])
		}
	case len(opt.Tasks) > 0:
		if !slices.Contains(opt.Tasks, id) {
			return fmt.Errorf("%w: task %x is not in the allow-list", ErrTask, id[:8])
		}
	case !opt.AnyTask:
		return ErrNoTask
	}
	return nil
}

// Verify checks one decoded bundle on its own: signature and signer, task,
// commitments, every Freivalds check and every row function, and at step 0
// the initial weights. It does not know the previous step; Chain adds that.
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
	if err := opt.taskAllowed(taskID); err != nil {
		return nil, err
	}
	switch b.Task.Work {
	case protocol.WorkTrain:
		want := FashionMNISTRoot
		if opt.DatasetRoot != nil {
			want = *opt.DatasetRoot
		}
		if b.Task.DatasetRoot != want {
			return nil, fmt.Errorf("%w: task trains on data set %x, expected %x", ErrTask, b.Task.DatasetRoot[:8], want[:8])
		}
	case protocol.WorkMatMul:
		// A matmul unit is one product: step 0 with no predecessor, so one
		// product cannot be claimed as several steps.
		if b.Step != 0 || b.Prev != (commit.Hash{}) {
			return nil, fmt.Errorf("%w: a matmul unit is step 0 with no previous root, got step %d", ErrTask, b.Step)
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
	if err := bundle.CheckShape(b, plan); err != nil {
		return nil, err
	}
	v := &checker{b: b, plan: plan, step: b.Step, taskID: taskID}

	// Commitments: every matrix the bundle carries whole is re-hashed.
	if err := v.checkWholeRoots(); err != nil {
		return nil, err
	}
	// Step 0 starts from the task's initial weights, checked whole.
	if b.Task.Work == protocol.WorkTrain && b.Step == 0 {
		init, err := initRoots(plan, taskID)
		if err != nil {
			return nil, err
		}
		for l, m := range plan.M {
			if b.Roots[m] != init[l] {
				return nil, v.fail(ReasonInitWeights, m, -1, "", "initial weights root (from the task seed)")
			}
		}
	}
	stepRoot := protocol.StepRoot(taskID, b.Step, b.Prev, b.Roots)

	// Challenges, replayed exactly as the prover ran them.
	s := protocol.NewSession(plan, taskID, b.Step, stepRoot, b.PublicKey)
	if b.Task.Mode == protocol.ModeBeacon {
		if opt.Nonce == nil {
			return nil, fmt.Errorf("%w: step %d is beacon-mode and no nonce was issued", ErrStale, b.Step)
		}
		want, ok := opt.Nonce(taskID, b.Step, s.Commitment)
		if !ok || want != b.Nonce {
			return nil, fmt.Errorf("%w: step %d answers nonce %x, not the one issued for its commitment %x", ErrStale, b.Step, b.Nonce[:8], s.Commitment[:8])
		}
	}
	sampled := plan.SampledRows(s.SampleSeed(b.Nonce))
	v.sess = s
	v.rows = make([][]int, len(plan.Groups))
	for g, gs := range plan.Groups {
		if mode == Full {
			v.rows[g] = allRows(gs.Rows)
		} else {
			v.rows[g] = sampled[g]
		}
	}
	if b.Variant == bundle.Sampled {
		v.index(sampled)
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
		Commitment: s.Commitment, Nonce: b.Nonce, Products: len(plan.Products), Signer: bytes.Clone(b.PublicKey), plan: plan}
	for m, ms := range plan.Matrices {
		if ms.Committed() {
			res.Rows += len(v.checked(m))
		}
	}
	if b.Task.Work == protocol.WorkTrain {
		for l := range plan.M {
			res.inRoots = append(res.inRoots, b.Roots[plan.M[l]])
			res.outRoots = append(res.outRoots, b.Roots[plan.MNext[l]])
		}
	}
	return res, nil
}

func allRows(n int) []int {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return all
}

// initRoots caches the initial weight roots of recently seen tasks: they cost
// one hash of every initial weight, once per task.
var initCache struct {
	sync.Mutex
	m map[commit.Hash][]commit.Hash
}

func initRoots(plan *protocol.Plan, taskID commit.Hash) ([]commit.Hash, error) {
	initCache.Lock()
	r, ok := initCache.m[taskID]
	initCache.Unlock()
	if ok {
		return r, nil
	}
	r, err := plan.InitRoots(taskID)
	if err != nil {
		return nil, err
	}
	initCache.Lock()
	if initCache.m == nil || len(initCache.m) >= 64 {
		initCache.m = map[commit.Hash][]commit.Hash{}
	}
	initCache.m[taskID] = r
	initCache.Unlock()
	return r, nil
}

// checker holds one bundle's verification state.
type checker struct {
	b      *bundle.Bundle
	plan   *protocol.Plan
	step   uint64
	taskID commit.Hash
	sess   *protocol.Session
	rows   [][]int       // rows to check of the row-opened matrices, per group
	pos    []map[int]int // sampled variant: row → position in the group's openings
}

func (v *checker) fail(reason Reason, matrix int, row int, product, check string) error {
	name := ""
	if matrix >= 0 {
		name = v.plan.Matrices[matrix].Name
	}
	return &CheckError{Step: v.step, Reason: reason, Matrix: name, Row: row, Product: product, Check: check}
}

func (v *checker) index(sampled [][]int) {
	v.pos = make([]map[int]int, len(sampled))
	for g, rows := range sampled {
		v.pos[g] = make(map[int]int, len(rows))
		for k, i := range rows {
			v.pos[g][i] = k
		}
	}
}

// whole reports whether every row of matrix m is available: carried whole,
// or derived from the task.
func (v *checker) whole(m int) bool { return v.b.Data[m] != nil || !v.plan.Matrices[m].Committed() }

// checked returns the rows of matrix m that are checked: all of a matrix the
// verifier holds whole, else the group's sampled (or, in full mode, all) rows.
func (v *checker) checked(m int) []int {
	ms := v.plan.Matrices[m]
	if ms.Whole || !ms.Committed() {
		return allRows(ms.Rows)
	}
	return v.rows[ms.Group]
}

// raw returns the canonical bytes of row i of matrix m.
func (v *checker) raw(m, i int) []byte {
	ms := v.plan.Matrices[m]
	if !ms.Committed() {
		row := make([]int8, ms.Cols)
		protocol.GenRow(v.plan.Task.MatMul.Seed, ms.Derived, i, row)
		return unsafe.Slice((*byte)(unsafe.Pointer(&row[0])), len(row))
	}
	if d := v.b.Data[m]; d != nil {
		n := ms.RowBytes()
		return d[i*n : (i+1)*n]
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

// dot projects row i of matrix m onto x.
func (v *checker) dot(m int, i int, x []field.Elem, scratch []int32) field.Elem {
	if v.plan.Matrices[m].Kind == tensor.KindInt8 {
		return field.DotInt8(v.int8Row(m, i), x)
	}
	return field.DotInt32(v.int32Row(m, i, scratch), x)
}

// project returns op(X)·x for a matrix the verifier holds whole: X·x (one
// entry per row) or, transposed, Xᵀ·x (one entry per column).
func (v *checker) project(o protocol.Operand, x []field.Elem) ([]field.Elem, error) {
	ms := v.plan.Matrices[o.Matrix]
	if !v.whole(o.Matrix) {
		return nil, fmt.Errorf("verifier: internal error: %s is not held whole", ms.Name)
	}
	if !o.Trans {
		out := make([]field.Elem, ms.Rows)
		err := eachRow(allRows(ms.Rows), func(i int, sc []int32) error {
			out[i] = v.dot(o.Matrix, i, x, sc)
			return nil
		}, ms.Cols)
		return out, err
	}
	// Xᵀ·x: transpose a block of 64 columns at a time (one block per
	// worker), then one dot product a column. Only batch-indexed matrices
	// (b rows) are used transposed, so this is O(b·cols).
	const block = 64
	out := make([]field.Elem, ms.Cols)
	blocks := allRows((ms.Cols + block - 1) / block)
	err := eachRow(blocks, func(jb int, sc []int32) error {
		j0, j1 := jb*block, min((jb+1)*block, ms.Cols)
		if ms.Kind == tensor.KindInt8 {
			cols := make([]int8, (j1-j0)*ms.Rows)
			for i := 0; i < ms.Rows; i++ {
				for j, e := range v.int8Row(o.Matrix, i)[j0:j1] {
					cols[j*ms.Rows+i] = e
				}
			}
			for j := j0; j < j1; j++ {
				out[j] = field.DotInt8(cols[(j-j0)*ms.Rows:(j-j0+1)*ms.Rows], x)
			}
			return nil
		}
		cols := make([]int32, (j1-j0)*ms.Rows)
		for i := 0; i < ms.Rows; i++ {
			raw := v.raw(o.Matrix, i)[4*j0 : 4*j1]
			for j := range j1 - j0 {
				cols[j*ms.Rows+i] = int32(binary.LittleEndian.Uint32(raw[4*j:]))
			}
		}
		for j := j0; j < j1; j++ {
			out[j] = field.DotInt32(cols[(j-j0)*ms.Rows:(j-j0+1)*ms.Rows], x)
		}
		return nil
	}, ms.Cols)
	return out, err
}

// eachRow runs f over rows in parallel (full mode has many), returning the
// first error in row order.
func eachRow(rows []int, f func(i int, scratch []int32) error, width int) error {
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
			for _, i := range part {
				if err := f(i, scratch); err != nil {
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

// checkProducts checks every product C = op(A)·op(B) with the challenge r,
// computing every vector itself from matrices it holds whole; no prover
// answer enters an identity (protocol v2, §5):
//
//   - B not transposed: q = B·r, then C_i·r = (op(A)·q)_i on every checked
//     row i of C (op(A)·q from A's row i or, for a transposed A held whole,
//     from all of A);
//   - B transposed (D = G·Wᵀ, A and C whole): r is applied from the left,
//     u = Aᵀ·r and v = Cᵀ·r, then v_j = B_j·u on every row j of B.
func (v *checker) checkProducts() error {
	width := v.maxCols()
	for pi, p := range v.plan.Products {
		r := v.sess.R[pi]
		if p.B.Trans {
			if err := v.checkLeft(p, r, width); err != nil {
				return err
			}
			continue
		}
		q, err := v.project(p.B, r)
		if err != nil {
			return err
		}
		var h []field.Elem // Aᵀ·q, when A is transposed
		if p.A.Trans {
			if h, err = v.project(p.A, q); err != nil {
				return err
			}
		}
		if err := eachRow(v.checked(p.C), func(i int, sc []int32) error {
			want := func() field.Elem {
				if p.A.Trans {
					return h[i]
				}
				return v.dot(p.A.Matrix, i, q, sc)
			}()
			if v.dot(p.C, i, r, sc) != want {
				return v.fail(ReasonProduct, p.C, i, p.Name, "freivalds identity C·r = op(A)·(op(B)·r)")
			}
			return nil
		}, width); err != nil {
			return err
		}
	}
	return nil
}

// checkLeft checks rᵀC = (rᵀA)·Bᵀ for a product whose B is used transposed:
// column j of C against row j of B, for every j.
func (v *checker) checkLeft(p protocol.ProductSpec, r []field.Elem, width int) error {
	if p.A.Trans || !v.plan.Matrices[p.C].Whole || !v.plan.Matrices[p.A.Matrix].Whole || !v.whole(p.B.Matrix) {
		return fmt.Errorf("verifier: internal error: product %s cannot be checked from the left", p.Name)
	}
	u, err := v.project(protocol.Operand{Matrix: p.A.Matrix, Trans: true}, r)
	if err != nil {
		return err
	}
	c, err := v.project(protocol.Operand{Matrix: p.C, Trans: true}, r)
	if err != nil {
		return err
	}
	return eachRow(allRows(v.plan.Matrices[p.B.Matrix].Rows), func(j int, sc []int32) error {
		if v.dot(p.B.Matrix, j, u, sc) != c[j] {
			return v.fail(ReasonProduct, p.C, -1, p.Name, fmt.Sprintf("freivalds identity rᵀC = (rᵀA)·Bᵀ at column %d", j))
		}
		return nil
	}, width)
}

// checkOpenings checks every opened row against its matrix root.
func (v *checker) checkOpenings(sampled [][]int) error {
	for m, ms := range v.plan.Matrices {
		if !v.plan.Opened(m) {
			continue
		}
		// The opened rows' leaves in one batch (16 chunks at a time with
		// AVX-512), then every path at once, shared ancestors hashed once.
		key := v.plan.RowKey(v.taskID, v.step, m)
		rows, w := sampled[ms.Group], ms.RowBytes()
		data := make([]byte, 0, len(rows)*w)
		paths := make([][]commit.Hash, len(rows))
		for k := range rows {
			o := v.b.Open[m][k]
			data = append(data, o.Data...)
			paths[k] = o.Path
		}
		leaves := make([]commit.Hash, len(rows))
		commit.HashRows(&key, data, w, leaves)
		if k := commit.VerifyMany(v.b.Roots[m], ms.Rows, rows, leaves, paths); k >= 0 {
			return v.fail(ReasonOpening, m, rows[k], "", "merkle opening")
		}
	}
	return nil
}

// checkWholeRoots recomputes the root of every matrix the bundle carries whole.
func (v *checker) checkWholeRoots() error {
	for m, ms := range v.plan.Matrices {
		if v.b.Data[m] == nil || !ms.Committed() {
			continue
		}
		key := v.plan.RowKey(v.taskID, v.step, m)
		leaves := make([]commit.Hash, ms.Rows)
		d, n := v.b.Data[m], ms.RowBytes()
		workers := 0
		if len(d) < 1<<16 {
			workers = 1
		}
		par.Range(ms.Rows, workers, func(lo, hi int) {
			commit.HashRows(&key, d[lo*n:hi*n], n, leaves[lo:hi])
		})
		root, err := commit.Root(leaves)
		if err != nil {
			return err
		}
		if root != v.b.Roots[m] {
			return v.fail(ReasonRoot, m, -1, "", "matrix root")
		}
	}
	return nil
}

// checkTrainRows checks the row functions: every batch row (the batch
// matrices are whole) and the checked rows of every layer: the view
// W_l = View(M_l) and the update M′_l = Update(M_l, DW_l).
func (v *checker) checkTrainRows() error {
	p := v.plan
	cfg := p.Task.Train
	d := cfg.Dims()
	L := len(d) - 1
	width := v.maxCols()
	// Batch rows: the example, the forward and the backward row functions.
	if err := eachRow(allRows(p.Groups[p.BatchGroup].Rows), func(i int, _ []int32) error {
		ex := v.b.Examples[i]
		idx := cfg.SampleIndex(v.step, i)
		leaf := protocol.DatasetLeaf(idx, ex.Label, ex.Image)
		if err := commit.Verify(p.Task.DatasetRoot, leaf, idx, model.TrainExamples, ex.Path); err != nil {
			return v.fail(ReasonExample, p.X, i, "", fmt.Sprintf("training example %d opening", idx))
		}
		x := make([]int8, d[0])
		cfg.InputRow(ex.Image, x)
		if !slices.Equal(x, v.int8Row(p.X, i)) {
			return v.fail(ReasonInput, p.X, i, "", fmt.Sprintf("input row = training example %d", idx))
		}
		z := make([]int32, width)
		z2 := make([]int32, width)
		out := make([]int8, width)
		for l := 1; l < L; l++ {
			zr := v.int32Row(p.Z[l-1], i, z)
			cfg.ActRow(l, zr, out[:d[l]])
			if !slices.Equal(out[:d[l]], v.int8Row(p.A[l-1], i)) {
				return v.fail(ReasonActivation, p.A[l-1], i, "", fmt.Sprintf("activation A%d = act(Z%d)", l, l))
			}
		}
		zr := v.int32Row(p.Z[L-1], i, z)
		cfg.LossGradRow(zr, ex.Label, out[:d[L]])
		if !slices.Equal(out[:d[L]], v.int8Row(p.G[L-1], i)) {
			return v.fail(ReasonLossGradient, p.G[L-1], i, "", fmt.Sprintf("loss gradient G%d", L))
		}
		for l := 1; l < L; l++ {
			dr := v.int32Row(p.D[l-1], i, z)
			zr := v.int32Row(p.Z[l-1], i, z2)
			cfg.BackActRow(l, dr, zr, out[:d[l]])
			if !slices.Equal(out[:d[l]], v.int8Row(p.G[l-1], i)) {
				return v.fail(ReasonGradient, p.G[l-1], i, "", fmt.Sprintf("gradient G%d = backact(D%d, Z%d)", l, l, l))
			}
		}
		return nil
	}, 0); err != nil {
		return err
	}
	// Weight rows: the view the products used, and the update.
	for l := 1; l <= L; l++ {
		if err := eachRow(v.checked(p.M[l-1]), func(j int, sc []int32) error {
			m := slices.Clone(v.int32Row(p.M[l-1], j, sc))
			view := make([]int8, d[l])
			cfg.ViewRow(m, view)
			if !slices.Equal(view, v.int8Row(p.W[l-1], j)) {
				return v.fail(ReasonView, p.W[l-1], j, "", fmt.Sprintf("weight view W%d = view(M%d)", l, l))
			}
			dw := slices.Clone(v.int32Row(p.DW[l-1], j, sc))
			want := make([]int32, d[l])
			cfg.UpdateRow(l, v.step, m, dw, want)
			if !slices.Equal(want, v.int32Row(p.MNext[l-1], j, sc)) {
				return v.fail(ReasonUpdate, p.MNext[l-1], j, "", fmt.Sprintf("weight update M%d' = update(M%d, DW%d)", l, l, l))
			}
			return nil
		}, width); err != nil {
			return err
		}
	}
	return nil
}
