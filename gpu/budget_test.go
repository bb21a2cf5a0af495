package gpu_test

import (
	"context"
	"math/bits"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/cgo/emu"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/tensor"
	"github.com/seed46f70faa/trainproof/train"
)

// stepLaunches is the launch budget of one proven training step of an
// L-layer model: 12L − 4 for the step itself (gpu.Trainer's doc comment
// counts them); per committed matrix, one blake3_chunks and ⌈log₂ c⌉
// blake3_parents launches, c = ⌈row bytes / 1024⌉; and one gather_rows per
// opened matrix (M_l, DW_l, M_l': 3L). The default model (784-256-128-10)
// has 23 committed matrices of one chunk a row and 9 opened ones: 32 + 23 +
// 9 = 64 launches a step.
func stepLaunches(plan *protocol.Plan, layers int) int {
	n := 12*layers - 4
	for i, m := range plan.Matrices {
		if !m.Committed() {
			continue
		}
		c := max(1, (m.RowBytes()+commit.ChunkSize-1)/commit.ChunkSize)
		n += 1 + bits.Len(uint(c-1)) // 1 + ⌈log₂ c⌉
		if plan.Opened(i) {
			n++
		}
	}
	return n
}

// TestStepBudget: what a steady-state proven training step asks of the
// device, as the emulator counts every driver-level call. The step is the
// prover's, batched: StepResident queues the step; HashRowsBatch hashes
// every committed matrix and brings the leaves back; ReadRowsBatch brings
// back the whole matrices and the opened rows; Release returns the buffers.
// From the third step on (the pool then holds a step's buffers and the
// mailbox has grown to fit):
//
//   - 0 device or pinned allocations and frees;
//   - 2 host synchronisations (the leaves, needed for the roots and so for
//     the sample; then the rows), each after exactly one device-to-host copy:
//     one batched read-back per synchronisation;
//   - 3 host-to-device copies from pinned memory (the batch, its labels, the
//     indexes of the opened rows);
//   - one device-to-device copy per whole matrix (into the mailbox);
//   - stepLaunches launches.
//
// The leaves and rows are checked against the CPU trainer's trace, so a
// read-back taken before its Sync (poison on the emulator) fails here too.
func TestStepBudget(t *testing.T) {
	data := synth.Dataset(21)
	cfg := model.DefaultConfig()
	// A 300-wide layer gives M1, DW1, M1' rows of 1200 bytes: two chunks, so
	// blake3_parents is in the budget too.
	cfg.Layers, cfg.Batch, cfg.GradShifts = []int{300, 16}, 12, nil
	dev := newEmu(t, 1<<30)
	defer dev.Close()
	g := gpu.New(dev, "emu")
	defer g.Close()
	dt, err := gpu.NewTrainer(g, cfg, data)
	require.NoError(t, err)
	defer dt.Close()
	ct, err := train.New(cfg, data, matmul.NewCPU())
	require.NoError(t, err)
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: 5, Train: cfg}
	plan, err := protocol.NewPlan(task)
	require.NoError(t, err)
	taskID := task.ID()
	L := len(cfg.Dims()) - 1
	ctx := context.Background()
	for s := 0; s < 3; s++ {
		before := dev.Calls()
		r, err := dt.StepResident(ctx)
		require.NoError(t, err)
		st, err := prover.ResidentStep(task, commit.Hash{}, r, g, nil)
		require.NoError(t, err)
		var jobs []gpu.HashJob
		for i, ms := range plan.Matrices {
			if ms.Committed() {
				jobs = append(jobs, gpu.HashJob{Buf: st.Matrices[i].Buf, Key: plan.RowKey(taskID, r.Step, i), Out: make([][32]byte, ms.Rows)})
			}
		}
		require.NoError(t, g.HashRowsBatch(ctx, jobs))
		sampled := plan.SampledRows([32]byte{byte(s)})
		var reads []gpu.RowsRead
		var which []int
		for i, ms := range plan.Matrices {
			var rows []int
			switch {
			case ms.Committed() && ms.Whole:
				for j := 0; j < ms.Rows; j++ {
					rows = append(rows, j)
				}
			case plan.Opened(i):
				rows = sampled[ms.Group]
			default:
				continue
			}
			reads = append(reads, gpu.RowsRead{Buf: st.Matrices[i].Buf, Rows: rows, Dst: make([]byte, len(rows)*ms.RowBytes())})
			which = append(which, i)
		}
		require.NoError(t, g.ReadRowsBatch(reads))
		r.Release(g)
		used := dev.Calls().Sub(before)

		// The device's answers are the CPU trainer's.
		tr, err := ct.Step(ctx)
		require.NoError(t, err)
		want, err := prover.TrainStep(task, commit.Hash{}, tr, nil)
		require.NoError(t, err)
		row := func(i, j int) []byte {
			if m := want.Matrices[i]; m.I8 != nil {
				return tensor.Int8Bytes(nil, m.I8.Row(j))
			}
			return tensor.Int32Bytes(nil, want.Matrices[i].I32.Row(j))
		}
		k := 0
		for i, ms := range plan.Matrices {
			if !ms.Committed() {
				continue
			}
			for j := 0; j < ms.Rows; j++ {
				key := jobs[k].Key
				require.Equal(t, commit.RowLeaf(&key, row(i, j)), jobs[k].Out[j], "step %d %s row %d leaf", s, ms.Name, j)
			}
			k++
		}
		for n, rd := range reads {
			w := plan.Matrices[which[n]].RowBytes()
			for q, j := range rd.Rows {
				require.Equal(t, row(which[n], j), rd.Dst[q*w:(q+1)*w], "step %d %s row %d", s, plan.Matrices[which[n]].Name, j)
			}
		}

		t.Logf("step %d: %v", s, used)
		if s < 2 {
			continue // the pool and the mailbox are still growing
		}
		require.Zero(t, used.Alloc+used.Free+used.HostAlloc+used.HostFree, "allocations in the steady state: %v", used)
		require.Equal(t, 2, used.Sync, "host synchronisations: %v", used)
		require.Equal(t, used.Sync, used.DtoH, "one batched read-back per synchronisation: %v", used)
		require.Equal(t, 3, used.HtoD, "uploads: %v", used)
		whole := 0
		for _, ms := range plan.Matrices {
			if ms.Committed() && ms.Whole {
				whole++
			}
		}
		require.Equal(t, whole, used.DtoD, "device-to-device copies: %v", used)
		require.Equal(t, stepLaunches(plan, L), used.Launch, "launches: %v", used)
	}
}

// noSync is a mutant device: its Sync returns without waiting, as a host
// path that forgot a synchronisation would behave.
type noSync struct{ *emu.Device }

func (noSync) Sync() error { return nil }

// TestMissingSyncFails: with a synchronisation missing, the host reads its
// read-back buffers before the work has run; on the emulator they hold
// poison, so the comparisons with the CPU that every kernel test makes fail.
func TestMissingSyncFails(t *testing.T) {
	dev := newEmu(t, 1<<24)
	defer dev.Close()
	m := tensor.NewInt32(5, 300)
	for i := range m.Data {
		m.Data[i] = int32(i * 7)
	}
	key := commit.RowKey([]byte("sync"))
	want := make([][32]byte, m.Rows)
	cpu := matmul.NewCPU()
	require.NoError(t, cpu.HashRows(context.Background(), cpu.WrapInt32(m), key, want))
	for _, mutant := range []bool{false, true} {
		var d gpu.Device = dev
		if mutant {
			d = noSync{dev}
		}
		g := gpu.New(d, "emu")
		b, err := g.UploadInt32(m)
		require.NoError(t, err)
		got := make([][32]byte, m.Rows)
		require.NoError(t, g.HashRows(context.Background(), b, key, got))
		if mutant {
			require.NotEqual(t, want, got, "a read-back without its sync must not pass")
			require.Equal(t, byte(emu.Poison), got[0][0])
		} else {
			require.Equal(t, want, got)
		}
		require.NoError(t, g.Free(b))
		require.NoError(t, g.Close())
	}
}

// TestQueuedSteps: steps queued back to back, with no read-back between
// them, still each train on their own batch: a step's pinned staging buffer
// is not refilled before the copies from it have run (the emulator runs
// them only at a Sync, reading the buffer then).
func TestQueuedSteps(t *testing.T) {
	data := synth.Dataset(22)
	cfg := model.DefaultConfig()
	cfg.Layers, cfg.Batch, cfg.GradShifts = []int{16}, 8, nil
	g := gpu.New(newEmu(t, 1<<28), "emu")
	defer g.Close()
	dt, err := gpu.NewTrainer(g, cfg, data)
	require.NoError(t, err)
	defer dt.Close()
	ct, err := train.New(cfg, data, matmul.NewCPU())
	require.NoError(t, err)
	var rs []*gpu.Resident
	for s := 0; s < 3; s++ {
		r, err := dt.StepResident(context.Background())
		require.NoError(t, err)
		rs = append(rs, r)
	}
	for s, r := range rs {
		tr, err := ct.Step(context.Background())
		require.NoError(t, err)
		x := tensor.NewInt8(tr.X.Rows, tr.X.Cols)
		require.NoError(t, g.DownloadInt8(r.X, x))
		require.Equal(t, tr.X.Data, x.Data, "step %d's batch on the device", s)
		z := tensor.NewInt32(tr.Z[1].Rows, tr.Z[1].Cols)
		require.NoError(t, g.DownloadInt32(r.Z[1], z))
		require.Equal(t, tr.Z[1].Data, z.Data, "step %d's logits", s)
		r.Release(g)
	}
}
