package prover_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/cgo/emu"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/tensor"
	"github.com/seed46f70faa/trainproof/verifier"
)

func TestKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "miner.key")
	pub, err := prover.GenerateKey(path)
	require.NoError(t, err)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	_, err = prover.GenerateKey(path)
	require.Error(t, err, "an existing key is never overwritten")
	key, err := prover.ReadKey(path)
	require.NoError(t, err)
	require.True(t, pub.Equal(key.Public()))
	require.NoError(t, os.WriteFile(path+".bad", []byte("not a key"), 0o600))
	_, err = prover.ReadKey(path + ".bad")
	require.Error(t, err)
}

// TestBeaconFlow drives a beacon-mode training task the way a network
// would: the miner publishes its commitment, then gets the nonce.
func TestBeaconFlow(t *testing.T) {
	data := synth.Dataset(5)
	cfg := model.DefaultConfig()
	cfg.Layers, cfg.GradShifts, cfg.Batch = []int{16}, []int{8}, 8
	tr, err := prover.NewTrainer(cfg, 4, protocol.ModeBeacon, data, matmul.NewCPU())
	require.NoError(t, err)
	_, key, _ := ed25519.GenerateKey(nil)
	root := tr.Task.DatasetRoot
	type issued struct{ commitment, nonce [32]byte }
	nonces := map[uint64]issued{}
	chain := verifier.NewChain()
	for s := 0; s < 3; s++ {
		pd, _, err := tr.Step(context.Background(), key.Public().(ed25519.PublicKey))
		require.NoError(t, err)
		// The verifier issues a nonce only after seeing pd.Commitment.
		nonce := [32]byte{byte(s), 0xbe}
		nonces[uint64(s)] = issued{pd.Commitment, nonce}
		_, enc, err := pd.Finish(bundle.Sampled, nonce, key)
		require.NoError(t, err)
		b, err := bundle.Decode(enc, 0)
		require.NoError(t, err)
		opt := verifier.Options{AnyTask: true, DatasetRoot: &root, Nonce: func(_ commit.Hash, step uint64, c [32]byte) ([32]byte, bool) {
			n, ok := nonces[step]
			return n.nonce, ok && n.commitment == c
		}}
		res, err := verifier.Verify(b, opt)
		require.NoError(t, err)
		require.Equal(t, pd.Commitment, res.Commitment)
		require.NoError(t, chain.Add(res))
		// A nonce issued for another commitment does not count.
		nonces[uint64(s)] = issued{[32]byte{1}, nonce}
		_, err = verifier.Verify(b, opt)
		require.ErrorIs(t, err, verifier.ErrStale)
	}
	require.Error(t, tr.Run(context.Background(), prover.TrainOptions{Steps: 1, Key: key}), "Run needs Fiat–Shamir")
}

// BenchmarkProverOverhead measures, in one run, a matmul unit's bare GEMM
// and the whole proving pipeline on the same operands: the product with its
// rows hashed in the epilogue, the Merkle trees, the
// openings, the encoding and the signature. overhead-% is the pipeline's
// extra time as a share of the bare GEMM. The operands' derivation from the
// seed is outside both.
func BenchmarkProverOverhead(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, n := range []int{1024, 2048, 4096} {
		task := protocol.Task{Work: protocol.WorkMatMul, Mode: protocol.ModeFiatShamir, Samples: 32,
			MatMul: protocol.MatMulSpec{M: uint32(n), K: uint32(n), N: uint32(n), Seed: 1}}
		x, y, err := prover.MatMulOperands(task)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			cpu := matmul.NewCPU()
			z := tensor.NewInt32(n, n)
			var gemm, proved time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(x), B: cpu.WrapInt8(y), C: cpu.WrapInt32(z)}}); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				st, err := prover.MatMulOn(context.Background(), cpu, task, x, y)
				if err != nil {
					b.Fatal(err)
				}
				pd, err := prover.Commit(context.Background(), st, key.Public().(ed25519.PublicKey))
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := pd.Finish(bundle.Sampled, [32]byte{}, key); err != nil {
					b.Fatal(err)
				}
				gemm += t1.Sub(t0)
				proved += time.Since(t1)
			}
			b.ReportMetric(gemm.Seconds()/float64(b.N), "gemm-s/op")
			b.ReportMetric(proved.Seconds()/float64(b.N), "proved-s/op")
			b.ReportMetric(100*(proved.Seconds()-gemm.Seconds())/gemm.Seconds(), "overhead-%")
		})
	}
}

func FuzzReadKey(f *testing.F) {
	f.Add([]byte("trainproof ed25519 private key v1\n" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"))
	f.Add([]byte("nonsense"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "k")
		require.NoError(t, os.WriteFile(path, b, 0o600))
		if key, err := prover.ReadKey(path); err == nil {
			require.Len(t, key, ed25519.PrivateKeySize)
		}
	})
}

// TestResidentTrainingOnEmulatedGPU runs training steps with every matrix on
// the (emulated) device, proves them there, and checks that the bundles
// verify and that nothing leaks: afterwards only the weights are allocated.
func TestResidentTrainingOnEmulatedGPU(t *testing.T) {
	data := synth.Dataset(8)
	cfg := model.DefaultConfig()
	cfg.Layers, cfg.Batch = []int{20, 12}, 10
	dev := emu.New(1 << 30)
	defer dev.Close()
	g := gpu.New(dev, "emu")
	tr, err := prover.NewTrainer(cfg, 4, protocol.ModeFiatShamir, data, g)
	require.NoError(t, err)
	_, key, _ := ed25519.GenerateKey(nil)
	root := tr.Task.DatasetRoot
	chain := verifier.NewChain()
	last := dev.Calls()
	err = tr.Run(context.Background(), prover.TrainOptions{Steps: 3, Key: key, Progress: func(r prover.StepReport) {
		// A proven step waits for the device twice (the leaves, then the
		// opened rows), one batched read-back each.
		used := dev.Calls().Sub(last)
		last = dev.Calls()
		require.Equal(t, 2, used.Sync, "step %d: %v", r.Step, used)
		require.Equal(t, 2, used.DtoH, "step %d: %v", r.Step, used)
		if r.Step > 1 {
			require.Zero(t, used.Alloc+used.Free+used.HostAlloc+used.HostFree, "step %d: %v", r.Step, used)
		}
		b, err := bundle.Decode(r.Bundle, 0)
		require.NoError(t, err)
		res, err := verifier.Verify(b, verifier.Options{AnyTask: true, DatasetRoot: &root})
		require.NoError(t, err)
		require.NoError(t, chain.Add(res))
	}})
	require.NoError(t, err)
	require.NoError(t, g.Close())
	free, total := dev.MemInfo()
	weights := 4 * (784*20 + 20*12 + 12*10)
	require.Equal(t, uint64(weights), total-free, "only the weights stay on the device")
}

// TestMatMulFused: a unit whose operands are generated inside the product
// makes the same bundle, byte for byte, as one whose operands are derived
// first, in both variants, and it verifies.
func TestMatMulFused(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, s := range [][3]uint32{{6, 5, 4}, {97, 300, 130}, {400, 515, 200}} {
		task := protocol.Task{Work: protocol.WorkMatMul, Mode: protocol.ModeFiatShamir, Samples: 9,
			MatMul: protocol.MatMulSpec{M: s[0], K: s[1], N: s[2], Seed: 3}}
		for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
			var encs [2][]byte
			for i := range encs {
				cpu := matmul.NewCPU()
				var st *prover.Step
				var err error
				if i == 0 {
					st, err = prover.MatMulStep(context.Background(), cpu, task)
				} else {
					var tm matmul.Timing
					st, err = prover.MatMulFused(context.Background(), cpu, task, &tm)
				}
				require.NoError(t, err)
				pd, err := prover.Commit(context.Background(), st, key.Public().(ed25519.PublicKey))
				require.NoError(t, err)
				_, encs[i], err = pd.Finish(v, [32]byte{}, key)
				require.NoError(t, err)
				pd.Release()
			}
			require.Equal(t, encs[0], encs[1], "%v %v", s, v)
			b, err := bundle.Decode(encs[1], 0)
			require.NoError(t, err)
			id := task.ID()
			_, err = verifier.Verify(b, verifier.Options{TaskID: &id})
			require.NoError(t, err, "%v %v", s, v)
		}
	}
}
