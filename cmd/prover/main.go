// Command prover is the miner's tool: it trains the quantized MLP on
// Fashion-MNIST or runs matmul work units on a backend, and writes a signed
// proof bundle for every step.
//
// Usage:
//
//	prover keygen --out KEY
//	prover train --steps N --out DIR [--seed S] [--batch B] [--layers 256,128] [--samples s] [--key KEY] [--data DIR] [--full] [--json]
//	             [--mode fiat-shamir|beacon --beacon-dir DIR [--beacon-timeout D]]
//	prover matmul --n N [--seed S] [--samples s] [--key KEY] [--full] --out FILE
//
// train writes OUT/task.id (the task id in hex, which verifier verify --task
// takes) and a bundle per step, OUT/step-NNNNNN.tpb. In beacon mode the rows
// are sampled with a nonce issued after the step is committed: for every
// step the prover publishes DIR/step-NNNNNN.commitment and waits for
// DIR/step-NNNNNN.nonce (verifier beacon issues them for local use).
//
// Exit codes: 0 success, 1 failure, 2 usage or I/O error.
package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/logger"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/cgo/cuda"
	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/snark"
)

const name = "prover"

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  prover keygen --out KEY
  prover train --steps N --out DIR [--seed S] [--batch B] [--layers 256,128] [--samples s] [--key KEY] [--data DIR] [--full] [--json]
               [--lr-decay-every K] [--lr-max-shift S] [--backend cpu|emu|cuda|auto] [--succinct --pk PK]
               [--mode fiat-shamir|beacon --beacon-dir DIR [--beacon-timeout D]]
  prover matmul --n N [--seed S] [--samples s] [--key KEY] [--full | --succinct --pk PK] --out FILE
  prover setup --n N --samples s --out DIR      (development Groth16 keys for succinct matmul units)
  prover setup --train [--layers 256,128] [--batch B] [--samples s] [--lr-decay-every K] [--lr-max-shift S] --out DIR
                                                (development Groth16 keys for succinct training steps)
  prover ceremony init --n N --samples s --dir DIR | init --train [model flags as setup] --samples s --dir DIR
                  | contribute --dir DIR | verify --dir DIR | seal --dir DIR --beacon HEX
                  | finalize --dir DIR --beacon HEX --out KEYS     (multi-party Groth16 setup)
`)
	os.Exit(2)
}

func main() {
	logger.Disable() // gnark logs to stdout by default; our output is ours
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch os.Args[1] {
	case "keygen":
		keygen(os.Args[2:])
	case "train":
		trainCmd(ctx, os.Args[2:])
	case "matmul":
		matmulCmd(ctx, os.Args[2:])
	case "setup":
		setupCmd(os.Args[2:])
	case "ceremony":
		ceremonyCmd(os.Args[2:])
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "%s: error: unknown command %q\n", name, os.Args[1])
		usage()
	}
}

func keygen(args []string) {
	fs := flag.NewFlagSet("keygen", flag.ExitOnError)
	out := fs.String("out", "", "where to write the private key (its public key goes to OUT.pub)")
	fs.Parse(args)
	if *out == "" {
		cli.Fatalf(name, 2, "keygen needs --out KEY")
	}
	pub, err := prover.GenerateKey(*out)
	if err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	fmt.Printf("public key: %s\n", hex.EncodeToString(pub))
}

// loadKey reads --key, or makes a fresh key in dir when none is given.
func loadKey(path, dir string) ed25519.PrivateKey {
	if path == "" {
		path = filepath.Join(dir, "miner.key")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if _, err := prover.GenerateKey(path); err != nil {
				cli.Fatalf(name, 2, "%v", err)
			}
		}
	}
	key, err := prover.ReadKey(path)
	if err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	return key
}

// backend returns the named matmul backend: cpu, emu (the CUDA kernels in
// the SIMT emulator; needs cgo), cuda (builds with the cuda tag) or auto.
func backend(name string) matmul.Backend {
	switch name {
	case "auto":
		if dev, err := cuda.Open(0); err == nil {
			return gpu.New(dev, "cuda")
		}
		return matmul.NewCPU()
	case "cpu":
		return matmul.NewCPU()
	case "cuda":
		dev, err := cuda.Open(0)
		if err != nil {
			cli.Fatalf("prover", 2, "%v", err)
		}
		return gpu.New(dev, "cuda")
	case "emu":
		be, err := emuBackend()
		if err != nil {
			cli.Fatalf("prover", 2, "%v", err)
		}
		return be
	}
	cli.Fatalf("prover", 2, "unknown backend %q (cpu, emu, cuda or auto)", name)
	return nil
}

func parseLayers(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad --layers %q: want positive sizes such as 256,128", s)
		}
		out = append(out, n)
	}
	return out, nil
}

type trainSummary struct {
	Steps          int     `json:"steps"`
	TestAccuracy   float64 `json:"test_accuracy"`
	FinalLoss      float64 `json:"final_loss"`
	TrainSeconds   float64 `json:"train_seconds"`
	ProveSeconds   float64 `json:"prove_seconds"`
	StepsPerSecond float64 `json:"steps_per_second"`
	BundleBytes    int64   `json:"bundle_bytes"`
	Out            string  `json:"out"`
	TaskID         string  `json:"task_id"`
	Backend        string  `json:"backend"`
	Variant        string  `json:"variant"`
	Samples        int     `json:"samples"`
	Mode           string  `json:"mode"`
	// NonceWaitSeconds is the time spent waiting for beacon nonces.
	NonceWaitSeconds float64 `json:"nonce_wait_seconds,omitempty"`
}

func trainCmd(ctx context.Context, args []string) {
	def := model.DefaultConfig()
	fs := flag.NewFlagSet("train", flag.ExitOnError)
	steps := fs.Int("steps", 300, "training steps to run and prove")
	out := fs.String("out", "", "directory for the bundles (step-NNNNNN.tpb)")
	seed := fs.Uint64("seed", def.Seed, "seed of the initial weights and the batches")
	batch := fs.Int("batch", def.Batch, "batch size")
	layers := fs.String("layers", joinInts(def.Layers), "hidden layer sizes")
	lrDecay := fs.Int("lr-decay-every", def.LRDecayEvery, "steps between halvings of the learning rate (0: never)")
	lrMax := fs.Int("lr-max-shift", def.LRMaxShift, "largest learning-rate shift (the rate stops halving there)")
	samples := fs.Int("samples", 128, "rows sampled per row group (128: the soundness analysis in docs/SOUNDNESS.md picks it for training steps)")
	keyPath := fs.String("key", "", "miner key (default: OUT/miner.key, made if missing)")
	data := fs.String("data", dataset.DefaultDir, "Fashion-MNIST directory")
	modeName := fs.String("mode", "fiat-shamir", "how rows are sampled: fiat-shamir (from the transcript) or beacon (from a nonce issued after each step's commitment; needs --beacon-dir)")
	beaconDir := fs.String("beacon-dir", "", "beacon mode: publish step-NNNNNN.commitment here and wait for step-NNNNNN.nonce")
	beaconTimeout := fs.Duration("beacon-timeout", 10*time.Minute, "beacon mode: how long to wait for a step's nonce")
	full := fs.Bool("full", false, "write full-data bundles (every matrix) instead of sampled ones")
	asJSON := fs.Bool("json", false, "print one JSON summary on stdout at the end")
	be := fs.String("backend", "cpu", "matmul backend: cpu|emu|cuda|auto")
	succinct := fs.Bool("succinct", false, "write succinct (Groth16) step bundles, step-NNNNNN.tps; needs --pk")
	pkPath := fs.String("pk", "", "proving key from prover setup --train (with --succinct)")
	fs.Parse(args)
	if *out == "" || *steps <= 0 {
		cli.Fatalf(name, 2, "train needs --out DIR and --steps N > 0")
	}
	var mode protocol.Mode
	switch *modeName {
	case "fiat-shamir":
		mode = protocol.ModeFiatShamir
		if *beaconDir != "" {
			cli.Fatalf(name, 2, "--beacon-dir is for --mode beacon")
		}
	case "beacon":
		mode = protocol.ModeBeacon
		if *beaconDir == "" {
			cli.Fatalf(name, 2, "--mode beacon needs --beacon-dir DIR (where commitments are published and nonces arrive)")
		}
		if *succinct {
			cli.Fatalf(name, 2, "--succinct proves Fiat–Shamir tasks only")
		}
		if *beaconTimeout <= 0 {
			cli.Fatalf(name, 2, "--beacon-timeout must be positive")
		}
	default:
		cli.Fatalf(name, 2, "--mode %q: want fiat-shamir or beacon", *modeName)
	}
	cfg := def
	cfg.Seed, cfg.Batch = *seed, *batch
	cfg.LRDecayEvery, cfg.LRMaxShift = *lrDecay, *lrMax
	var err error
	if cfg.Layers, err = parseLayers(*layers); err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	if err := cfg.Validate(); err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	trainSet, testSet, err := dataset.Load(*data)
	if err != nil {
		if errors.Is(err, dataset.ErrNotFound) {
			fmt.Fprintf(os.Stderr, "%s: error: %v\n", name, err)
			cli.Hint(name, "install it with: sudo apt-get install dataset-fashion-mnist (or pass --data DIR)")
			os.Exit(2)
		}
		cli.Fatalf(name, 2, "%v", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	if mode == protocol.ModeBeacon {
		if err := os.MkdirAll(*beaconDir, 0o755); err != nil {
			cli.Fatalf(name, 2, "%v", err)
		}
	}
	key := loadKey(*keyPath, *out)
	bk := backend(*be)
	t, err := prover.NewTrainer(cfg, uint32(*samples), mode, trainSet, bk)
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	id := t.Task.ID()
	if err := os.WriteFile(filepath.Join(*out, "task.id"), []byte(hex.EncodeToString(id[:])+"\n"), 0o644); err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	if *succinct {
		if bk.Name() != "cpu" {
			cli.Fatalf(name, 2, "--succinct runs on the cpu backend (the circuit's witness is the whole trace)")
		}
		trainSuccinct(ctx, t, *pkPath, key, *out, *steps, testSet, trainSet)
		return
	}
	variant := bundle.Sampled
	if *full {
		variant = bundle.Full
	}
	sum := trainSummary{Steps: *steps, Out: *out, Backend: bk.Name(), Variant: variant.String(), Samples: *samples, Mode: *modeName}
	sum.TaskID = hex.EncodeToString(id[:])
	bar := cli.NewProgress("train", *steps)
	start := time.Now()
	progress := func(r prover.StepReport) {
		sum.TrainSeconds += r.TrainSeconds
		sum.ProveSeconds += r.ProveSeconds
		sum.BundleBytes += int64(r.BundleBytes)
		bar.Set(int(r.Step)+1, fmt.Sprintf("%.1f steps/s", float64(r.Step+1)/time.Since(start).Seconds()))
	}
	opt := prover.TrainOptions{Steps: *steps, Variant: variant, Key: key, OutDir: *out, Progress: progress}
	if mode == protocol.ModeBeacon {
		bw := beaconWait{dir: *beaconDir, timeout: *beaconTimeout}
		err = runBeacon(ctx, t, opt, bw, &sum.NonceWaitSeconds)
	} else {
		err = t.Run(ctx, opt)
	}
	bar.Done()
	if err != nil {
		var pe *os.PathError
		var le *os.LinkError
		if errors.As(err, &pe) || errors.As(err, &le) {
			cli.Fatalf(name, 2, "%v", err)
		}
		cli.Fatalf(name, 1, "%v", err)
	}
	sum.StepsPerSecond = float64(*steps) / time.Since(start).Seconds()
	// Evaluation is a report, not part of the proof: on the emulator it runs on the CPU.
	evalBe := bk
	if bk.Name() == "emu" {
		evalBe = matmul.NewCPU()
	}
	acc, loss, err := t.Model().EvaluateOn(ctx, testSet, evalBe)
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	sum.TestAccuracy, sum.FinalLoss = acc, loss
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(sum)
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "task\t%s\n", sum.TaskID)
	fmt.Fprintf(w, "steps\t%d (batch %d, layers %v, %s backend)\n", sum.Steps, cfg.Batch, cfg.Dims(), sum.Backend)
	fmt.Fprintf(w, "test accuracy\t%.4f on %d test images\n", acc, testSet.N)
	fmt.Fprintf(w, "test loss\t%.4f\n", loss)
	if mode == protocol.ModeBeacon {
		fmt.Fprintf(w, "train time\t%.1f s (train and commit)\n", sum.TrainSeconds)
		fmt.Fprintf(w, "prove time\t%.1f s (open, sign)\n", sum.ProveSeconds)
		fmt.Fprintf(w, "nonce wait\t%.1f s (nonces from %s)\n", sum.NonceWaitSeconds, *beaconDir)
	} else {
		fmt.Fprintf(w, "train time\t%.1f s\n", sum.TrainSeconds)
		fmt.Fprintf(w, "prove time\t%.1f s (commit, open, sign)\n", sum.ProveSeconds)
	}
	fmt.Fprintf(w, "steps/s\t%.2f\n", sum.StepsPerSecond)
	fmt.Fprintf(w, "bundles\t%d %s bundles, %.1f MiB in %s\n", sum.Steps, sum.Variant, float64(sum.BundleBytes)/(1<<20), sum.Out)
	w.Flush()
}

func joinInts(a []int) string {
	s := make([]string, len(a))
	for i, x := range a {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func matmulCmd(ctx context.Context, args []string) {
	fs := flag.NewFlagSet("matmul", flag.ExitOnError)
	n := fs.Int("n", 1024, "matrix size: C = A·B with A, B n×n")
	seed := fs.Uint64("seed", 1, "seed of A and B")
	samples := fs.Int("samples", 280, "rows sampled per row group (280: the soundness analysis in docs/SOUNDNESS.md picks it for matmul units)")
	keyPath := fs.String("key", "", "miner key (default: a key beside FILE)")
	full := fs.Bool("full", false, "write a full-data bundle")
	succinct := fs.Bool("succinct", false, "write a succinct (Groth16) bundle; needs --pk")
	pkPath := fs.String("pk", "", "proving key from prover setup (with --succinct)")
	out := fs.String("out", "", "bundle file")
	be := fs.String("backend", "cpu", "matmul backend: cpu|emu|cuda|auto")
	asJSON := fs.Bool("json", false, "print a JSON breakdown of where the time went")
	fs.Parse(args)
	if *out == "" {
		cli.Fatalf(name, 2, "matmul needs --out FILE")
	}
	task := protocol.Task{Work: protocol.WorkMatMul, Mode: protocol.ModeFiatShamir, Samples: uint32(*samples),
		MatMul: protocol.MatMulSpec{M: uint32(*n), K: uint32(*n), N: uint32(*n), Seed: *seed}}
	if err := task.Validate(); err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	key := loadKey(*keyPath, filepath.Dir(*out))
	bk := backend(*be)
	// Every stage is timed on its own: the breakdown is what the prover adds
	// to the bare GEMM.
	var bd matmulBreakdown
	lap := func(dst *float64) func() {
		t := time.Now()
		return func() { *dst = time.Since(t).Seconds() }
	}
	t0 := time.Now()
	done := lap(&bd.DeriveSeconds)
	a, b, err := prover.MatMulOperands(task)
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	done()
	done = lap(&bd.GEMMHashSeconds)
	st, err := prover.MatMulOn(ctx, bk, task, a, b)
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	done()
	defer st.Release()
	if *succinct {
		succinctMatMul(task, st, *pkPath, key, *out, time.Since(t0))
		return
	}
	done = lap(&bd.TreeSeconds)
	pd, err := prover.Commit(ctx, st, key.Public().(ed25519.PublicKey))
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	done()
	variant := bundle.Sampled
	if *full {
		variant = bundle.Full
	}
	done = lap(&bd.OpenSignSeconds)
	_, enc, err := pd.Finish(variant, [32]byte{}, key)
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	done()
	done = lap(&bd.WriteSeconds)
	if err := os.WriteFile(*out, enc, 0o644); err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	done()
	bd.TotalSeconds = time.Since(t0).Seconds()
	bd.N, bd.Backend, bd.Variant, bd.BundleBytes, bd.Out = *n, bk.Name(), variant.String(), len(enc), *out
	bd.GOPS = 2 * float64(*n) * float64(*n) * float64(*n) / bd.GEMMHashSeconds / 1e9
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(bd)
		return
	}
	fmt.Printf("matmul n=%d: derive %.3f s, GEMM + row hashes %.3f s (%.1f GOPS), trees %.3f s, open + encode + sign %.3f s, write %.3f s; bundle %d bytes (%s) -> %s\n",
		*n, bd.DeriveSeconds, bd.GEMMHashSeconds, bd.GOPS, bd.TreeSeconds, bd.OpenSignSeconds, bd.WriteSeconds, len(enc), variant, *out)
}

// matmulBreakdown is `prover matmul --json`: every stage the prover adds to
// the product, timed on its own.
type matmulBreakdown struct {
	N               int     `json:"n"`
	Backend         string  `json:"backend"`
	Variant         string  `json:"variant"`
	DeriveSeconds   float64 `json:"derive_seconds"`    // A and B from the seed
	GEMMHashSeconds float64 `json:"gemm_hash_seconds"` // C = A·B with the row leaves hashed in the epilogue
	GOPS            float64 `json:"gops"`
	TreeSeconds     float64 `json:"tree_seconds"`      // Merkle trees, step root, challenges
	OpenSignSeconds float64 `json:"open_sign_seconds"` // openings, encoding, signature
	WriteSeconds    float64 `json:"write_seconds"`
	TotalSeconds    float64 `json:"total_seconds"`
	BundleBytes     int     `json:"bundle_bytes"`
	Out             string  `json:"out"`
}

func ceremonyCmd(args []string) {
	if len(args) < 1 {
		usage()
	}
	def := model.DefaultConfig()
	fs := flag.NewFlagSet("ceremony "+args[0], flag.ExitOnError)
	n := fs.Int("n", 8, "matrix size of the matmul units (init)")
	samples := fs.Int("samples", 2, "rows sampled per group (init)")
	trainKeys := fs.Bool("train", false, "init: a ceremony for the training-step circuit")
	batch := fs.Int("batch", def.Batch, "init --train: batch size")
	layers := fs.String("layers", joinInts(def.Layers), "init --train: hidden layer sizes")
	lrDecay := fs.Int("lr-decay-every", def.LRDecayEvery, "init --train: steps between halvings of the learning rate")
	lrMax := fs.Int("lr-max-shift", def.LRMaxShift, "init --train: largest learning-rate shift")
	dir := fs.String("dir", "", "ceremony directory")
	beacon := fs.String("beacon", "", "public random beacon, hex (seal, finalize)")
	beaconSource := fs.String("beacon-source", "", "where the beacon comes from, recorded with it (seal, finalize), e.g. \"drand round 123456\"")
	vkPath := fs.String("vk", "", "verify: also check that this published verifying key is the one the transcript derives")
	out := fs.String("out", "", "directory for the keys (finalize)")
	fs.Parse(args[1:])
	if *dir == "" {
		cli.Fatalf(name, 2, "ceremony needs --dir DIR")
	}
	beaconOf := func() snark.Beacon {
		b, err := hex.DecodeString(*beacon)
		if err != nil || len(b) < 16 || len(b) > 1024 {
			cli.Fatalf(name, 2, "--beacon: want 16 to 1024 bytes of hex from a public source no contributor controls")
		}
		return snark.Beacon{Value: b, Source: *beaconSource}
	}
	open := func() *snark.Ceremony {
		c, err := snark.OpenCeremony(*dir)
		if err != nil {
			cli.Fatalf(name, 2, "%v", err)
		}
		return c
	}
	switch args[0] {
	case "init":
		if *trainKeys {
			cfg := def
			cfg.Batch, cfg.LRDecayEvery, cfg.LRMaxShift = *batch, *lrDecay, *lrMax
			var err error
			if cfg.Layers, err = parseLayers(*layers); err != nil {
				cli.Fatalf(name, 2, "%v", err)
			}
			if _, err := snark.InitStepCeremony(*dir, snark.StepShape{Config: cfg, Samples: *samples}); err != nil {
				cli.Fatalf(name, 2, "%v", err)
			}
			fmt.Printf("ceremony for training steps of layers %v, batch %d, %d samples, in %s: pass it to the first contributor\n", cfg.Dims(), cfg.Batch, *samples, *dir)
			return
		}
		if _, err := snark.InitCeremony(*dir, snark.MatMulShape{M: *n, K: *n, N: *n, S: *samples}); err != nil {
			cli.Fatalf(name, 2, "%v", err)
		}
		fmt.Printf("ceremony for %dx%dx%d units, %d samples, in %s: pass it to the first contributor\n", *n, *n, *n, *samples, *dir)
	case "contribute":
		c := open()
		if _, err := c.Verify(); err != nil {
			cli.Fatalf(name, 1, "the ceremony you were handed does not verify, do not contribute: %v", err)
		}
		f, err := c.Contribute()
		if err != nil {
			cli.Fatalf(name, 1, "%v", err)
		}
		fmt.Printf("phase %d contribution written to %s; your randomness is gone with this process\n", c.Phase(), f)
		if t, err := c.Transcript(); err == nil && len(t.Files) > 0 {
			last := t.Files[len(t.Files)-1]
			fmt.Printf("record this digest and check that the published transcript lists it: %s %x\n", last.Name, last.SHA256)
		}
	case "verify":
		c := open()
		r, err := c.Audit()
		if err != nil {
			cli.Fatalf(name, 1, "%v", err)
		}
		fmt.Printf("phase 1: %d contributions verified\n", r.Phase1)
		if r.Phase == 2 {
			fmt.Printf("phase 2: %d contributions verified\n", r.Phase2)
		}
		for i, b := range r.Beacons {
			if b != nil {
				fmt.Printf("beacon %d: %x (source: %q)\n", i+1, b.Value, b.Source)
			}
		}
		fmt.Printf("transcript: %x (%d files)\n", r.Transcript.Hash, len(r.Transcript.Files))
		if *vkPath != "" {
			vk, err := os.ReadFile(*vkPath)
			if err != nil {
				cli.Fatalf(name, 2, "%v", err)
			}
			if err := c.CheckVK(vk); err != nil {
				cli.Fatalf(name, 1, "%s is not the key this transcript derives: %v", *vkPath, err)
			}
			fmt.Printf("%s is the verifying key this transcript derives\n", *vkPath)
		}
	case "seal":
		c := open()
		if err := c.SealPhase1With(beaconOf()); err != nil {
			cli.Fatalf(name, 1, "%v", err)
		}
		fmt.Println("phase 1 verified and sealed; phase 2 is open for contributions")
	case "finalize":
		c := open()
		if *out == "" {
			cli.Fatalf(name, 2, "finalize needs --out DIR")
		}
		if c.Step != nil {
			k, err := c.FinalizeStepWith(beaconOf())
			if err != nil {
				cli.Fatalf(name, 1, "%v", err)
			}
			writeStepKeys(k, *out)
			fmt.Printf("transcript: %x\n", k.Origin.Transcript)
		} else {
			k, err := c.FinalizeWith(beaconOf())
			if err != nil {
				cli.Fatalf(name, 1, "%v", err)
			}
			writeKeys(k, *out)
			fmt.Printf("transcript: %x\n", k.Origin.Transcript)
		}
		fmt.Printf("every contribution verified; keys in %s\n", *out)
	default:
		usage()
	}
}

// keyPair is what both kinds of Groth16 keys offer for writing.
type keyPair interface {
	MarshalPK() ([]byte, error)
	MarshalVK() ([]byte, error)
}

// writeKeyFiles writes stem.pk, stem.vk, the exported Solidity verifier
// (Verifier.sol) and any extra files into out.
func writeKeyFiles(k keyPair, vk groth16.VerifyingKey, stem, out string, extra map[string][]byte) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	pk, err := k.MarshalPK()
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	vkb, err := k.MarshalVK()
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	var sol bytes.Buffer
	if err := vk.ExportSolidity(&sol); err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	files := map[string][]byte{stem + ".pk": pk, stem + ".vk": vkb, "Verifier.sol": sol.Bytes()}
	maps.Copy(files, extra)
	for f, b := range files {
		if err := snark.WriteKeyFile(filepath.Join(out, f), b); err != nil {
			cli.Fatalf(name, 2, "%v", err)
		}
	}
}

// writeKeys writes matmul.pk, matmul.vk and Verifier.sol.
func writeKeys(k *snark.Keys, out string) { writeKeyFiles(k, k.VK, "matmul", out, nil) }

func setupCmd(args []string) {
	def := model.DefaultConfig()
	fs := flag.NewFlagSet("setup", flag.ExitOnError)
	n := fs.Int("n", 8, "matrix size of the matmul units (a power of two)")
	samples := fs.Int("samples", 2, "rows sampled per group inside the circuit")
	out := fs.String("out", "", "directory for the keys (matmul.* or step.*) and the Solidity verifier")
	trainKeys := fs.Bool("train", false, "keys for training steps (step.pk, step.vk, Verifier.sol, StepChain.sol) instead of matmul units")
	batch := fs.Int("batch", def.Batch, "--train: batch size")
	layers := fs.String("layers", joinInts(def.Layers), "--train: hidden layer sizes")
	lrDecay := fs.Int("lr-decay-every", def.LRDecayEvery, "--train: steps between halvings of the learning rate")
	lrMax := fs.Int("lr-max-shift", def.LRMaxShift, "--train: largest learning-rate shift")
	fs.Parse(args)
	if *out == "" {
		cli.Fatalf(name, 2, "setup needs --out DIR")
	}
	fmt.Fprintln(os.Stderr, "prover: warning: development keys from a single-party setup: whoever ran it can forge proofs; not for production")
	if *trainKeys {
		cfg := def
		cfg.Batch, cfg.LRDecayEvery, cfg.LRMaxShift = *batch, *lrDecay, *lrMax
		var err error
		if cfg.Layers, err = parseLayers(*layers); err != nil {
			cli.Fatalf(name, 2, "%v", err)
		}
		setupStep(snark.StepShape{Config: cfg, Samples: *samples}, *out)
		return
	}
	shape := snark.MatMulShape{M: *n, K: *n, N: *n, S: *samples}
	t0 := time.Now()
	k, err := snark.DevSetup(shape)
	if err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	writeKeys(k, *out)
	fmt.Printf("setup %+v: %d constraints, %.1f s -> %s\n", shape, k.CS.GetNbConstraints(), time.Since(t0).Seconds(), *out)
}

func succinctMatMul(task protocol.Task, st *prover.Step, pkPath string, key ed25519.PrivateKey, out string, compute time.Duration) {
	if pkPath == "" {
		cli.Fatalf(name, 2, "--succinct needs --pk (make keys with prover setup)")
	}
	k, err := snark.LoadProver(pkPath)
	if err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	plan, err := protocol.NewPlan(task)
	if err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	c := st.Matrices[plan.MatC].I32
	if c == nil {
		cli.Fatalf(name, 2, "--succinct runs on the cpu backend")
	}
	t0 := time.Now()
	enc, err := snark.ProveMatMul(k, task, st.Matrices[plan.MatA].I8, st.Matrices[plan.MatB].I8, c, key)
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	if err := os.WriteFile(out, enc, 0o644); err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	fmt.Printf("matmul %dx%dx%d: compute %.3f s, Groth16 prove %.3f s, succinct bundle %d bytes -> %s\n",
		task.MatMul.M, task.MatMul.K, task.MatMul.N, compute.Seconds(), time.Since(t0).Seconds(), len(enc), out)
}

func setupStep(shape snark.StepShape, out string) {
	t0 := time.Now()
	k, err := snark.DevSetupStep(shape)
	if err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	writeStepKeys(k, out)
	fmt.Printf("setup: training step of layers %v, batch %d, %d samples: %d constraints, %.1f s -> %s\n",
		shape.Config.Dims(), shape.Config.Batch, shape.Samples, k.CS.GetNbConstraints(), time.Since(t0).Seconds(), out)
}

// writeStepKeys writes step.pk, step.vk, Verifier.sol and its StepChain.sol wrapper.
func writeStepKeys(k *snark.StepKeys, out string) {
	writeKeyFiles(k, k.VK, "step", out, map[string][]byte{
		"StepChain.sol": []byte(snark.StepChainSolidity(len(k.Shape.Config.Dims()) - 1))})
}

// trainSuccinct trains steps on the CPU and proves each with the step
// circuit, writing step-NNNNNN.tps.
func trainSuccinct(ctx context.Context, t *prover.Trainer, pkPath string, key ed25519.PrivateKey, out string, steps int, testSet, trainSet *dataset.Set) {
	if pkPath == "" {
		cli.Fatalf(name, 2, "--succinct needs --pk (make keys with prover setup --train)")
	}
	t0 := time.Now()
	k, err := snark.LoadStepProver(pkPath)
	if err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	if want := snark.StepShapeOf(t.Task); !want.Equal(k.Shape) {
		cli.Fatalf(name, 2, "the proving key is for another model or sample count (layers %v, batch %d, %d samples) than this task (layers %v, batch %d, %d samples); make keys with the same flags",
			k.Shape.Config.Layers, k.Shape.Config.Batch, k.Shape.Samples, want.Config.Layers, want.Config.Batch, want.Samples)
	}
	tree, err := snark.NewDataTree(trainSet)
	if err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	fmt.Fprintf(os.Stderr, "prover: keys and data tree ready in %.1f s (%d constraints per step)\n", time.Since(t0).Seconds(), k.CS.GetNbConstraints())
	model := t.Model()
	pub := key.Public().(ed25519.PublicKey)
	var trainS, proveS float64
	bar := cli.NewProgress("train", steps)
	for s := 0; s < steps; s++ {
		t1 := time.Now()
		tr, err := model.Step(ctx)
		if err != nil {
			cli.Fatalf(name, 1, "%v", err)
		}
		t2 := time.Now()
		w, err := snark.NewStepWitness(t.Task, pub, tr, trainSet, tree)
		if err != nil {
			cli.Fatalf(name, 1, "%v", err)
		}
		enc, err := snark.ProveStep(k, t.Task, w, key)
		if err != nil {
			cli.Fatalf(name, 1, "step %d: %v", tr.Step, err)
		}
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("step-%06d.tps", tr.Step)), enc, 0o644); err != nil {
			cli.Fatalf(name, 2, "%v", err)
		}
		trainS += t2.Sub(t1).Seconds()
		proveS += time.Since(t2).Seconds()
		bar.Set(s+1, fmt.Sprintf("%.1f s/step, %d-byte bundles", time.Since(t1).Seconds(), len(enc)))
	}
	bar.Done()
	acc, _, err := model.Evaluate(ctx, testSet)
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	id := t.Task.ID()
	fmt.Printf("task %x: %d steps, test accuracy %.4f, train %.1f s, Groth16 prove %.1f s (%.1f s/step) -> %s/step-*.tps\n",
		id[:8], steps, acc, trainS, proveS, proveS/float64(steps), out)
}
