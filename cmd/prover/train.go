package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/snark"
)

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

// modelFlags are the flags that shape the model (train, setup --train,
// ceremony init --train).
type modelFlags struct {
	batch, lrDecay, lrMax *int
	layers                *string
}

func addModelFlags(fs interface {
	Int(string, int, string) *int
	String(string, string, string) *string
}, prefix string) modelFlags {
	def := model.DefaultConfig()
	return modelFlags{
		batch:   fs.Int("batch", def.Batch, prefix+"batch size (examples per step)"),
		layers:  fs.String("layers", joinInts(def.Layers), prefix+"hidden layer sizes"),
		lrDecay: fs.Int("lr-decay-every", def.LRDecayEvery, prefix+"steps between halvings of the learning rate (0: never)"),
		lrMax:   fs.Int("lr-max-shift", def.LRMaxShift, prefix+"largest learning-rate shift (the rate stops halving there)"),
	}
}

// config checks the model flags and returns the configuration they name.
func (m modelFlags) config() (model.Config, error) {
	cfg := model.DefaultConfig()
	if err := errors.Join(
		cli.Range("batch", *m.batch, 1, model.MaxBatch),
		cli.Range("lr-decay-every", *m.lrDecay, 0, math.MaxInt32),
		cli.Range("lr-max-shift", *m.lrMax, cfg.LRShift, 31)); err != nil {
		return cfg, cli.Usage(err)
	}
	cfg.Batch, cfg.LRDecayEvery, cfg.LRMaxShift = *m.batch, *m.lrDecay, *m.lrMax
	var err error
	if cfg.Layers, err = parseLayers(*m.layers); err != nil {
		return cfg, cli.Usage(err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, cli.Usage(err)
	}
	return cfg, nil
}

// keyFiles are the files --out may hold before a run without --force: a
// key made beforehand with prover keygen --out OUT/miner.key.
var keyFiles = map[string]bool{"miner.key": true, "miner.key.pub": true}

// prepareOut makes sure dir holds no earlier run: bundles of two runs in one
// directory would be checked as one chain, and fail. Besides the key files
// it may hold directories only (make succinct-demo keeps its keys in
// OUT/keys): the verifier reads the bundles at its top level. With force,
// an earlier run's task.id and bundles are removed (the key stays).
func prepareOut(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	var other []string
	removed := 0
	for _, e := range entries {
		n := e.Name()
		if keyFiles[n] || e.IsDir() {
			continue
		}
		ext := filepath.Ext(n)
		if !force {
			other = append(other, n)
			continue
		}
		if n == "task.id" || strings.HasPrefix(n, "step-") && (ext == ".tpb" || ext == ".tps") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
			removed++
		}
	}
	if len(other) > 0 {
		held := other[0]
		if len(other) > 1 {
			held += fmt.Sprintf(" and %d more", len(other)-1)
		}
		return cli.WithHint(cli.Usagef("--out %s is not empty: it holds %s", dir, held),
			"use a new directory, or pass --force to replace the earlier run's bundles and task.id (its miner.key is kept)")
	}
	if removed > 0 {
		fmt.Fprintf(os.Stderr, "%s: --force: removed %d files of an earlier run from %s\n", name, removed, dir)
	}
	return nil
}

func trainCmd(ctx context.Context, args []string) error {
	def := model.DefaultConfig()
	fs := newFlags("train")
	steps := fs.Int("steps", 300, "training steps to run and prove")
	out := fs.String("out", "", "directory for the bundles (step-NNNNNN.tpb); new, or holding only miner.key and directories, unless --force")
	force := fs.Bool("force", false, "write into a non-empty --out, replacing an earlier run's bundles and task.id")
	seed := fs.Uint64("seed", def.Seed, "seed of the initial weights and the batches")
	mf := addModelFlags(fs, "")
	samples := fs.Int("samples", 128, "rows sampled per row group (128: the soundness analysis in docs/SOUNDNESS.md picks it for training steps)")
	keyPath := fs.String("key", "", "miner key (default: OUT/miner.key, made if missing)")
	data := fs.String("data", dataset.DefaultDir, "Fashion-MNIST directory")
	modeName := fs.String("mode", "fiat-shamir", "how rows are sampled: fiat-shamir (from the transcript) or beacon (from a nonce issued after each step's commitment; needs --beacon-dir)")
	beaconDir := fs.String("beacon-dir", "", "beacon mode: publish step-NNNNNN.commitment here and wait for step-NNNNNN.nonce")
	beaconTimeout := fs.Duration("beacon-timeout", 10*time.Minute, "beacon mode: how long to wait for a step's nonce")
	full := fs.Bool("full", false, "write full-data bundles (every matrix) instead of sampled ones")
	asJSON := fs.Bool("json", false, "print one JSON summary on stdout at the end")
	be := fs.String("backend", "cpu", "matmul backend: cpu|emu|cuda|auto (auto: cuda if a device opens, else cpu; says which on stderr)")
	succinct := fs.Bool("succinct", false, "write succinct (Groth16) step bundles, step-NNNNNN.tps; needs --pk")
	pkPath := fs.String("pk", "", "proving key from prover setup --train (with --succinct)")
	if err := cli.Parse(fs, args, false); err != nil {
		return err
	}
	set := setFlags(fs)
	if *out == "" {
		return cli.Usagef("train needs --out DIR")
	}
	if err := errors.Join(cli.Range("steps", *steps, 1, math.MaxInt32), cli.Range("samples", *samples, 1, protocol.MaxSamples)); err != nil {
		return cli.Usage(err)
	}
	cfg, err := mf.config()
	if err != nil {
		return err
	}
	cfg.Seed = *seed
	var mode protocol.Mode
	switch *modeName {
	case "fiat-shamir":
		mode = protocol.ModeFiatShamir
		if err := onlyWith(set, "--mode beacon", "beacon-dir", "beacon-timeout"); err != nil {
			return err
		}
	case "beacon":
		mode = protocol.ModeBeacon
		if *beaconDir == "" {
			return cli.Usagef("--mode beacon needs --beacon-dir DIR (where commitments are published and nonces arrive)")
		}
		if *succinct {
			return cli.Usagef("--succinct proves Fiat–Shamir tasks only")
		}
		if *beaconTimeout <= 0 {
			return cli.Usagef("--beacon-timeout must be positive")
		}
	default:
		return cli.Usagef("--mode %q: want fiat-shamir or beacon", *modeName)
	}
	if err := succinctFlags(set, *succinct, *pkPath, "prover setup --train"); err != nil {
		return err
	}
	trainSet, testSet, err := dataset.Load(*data)
	if err != nil {
		return cli.Usage(err) // the error says how to install the set
	}
	if cfg.Batch > trainSet.N {
		return cli.Usagef("--batch %d is larger than the training set (%d examples in %s)", cfg.Batch, trainSet.N, *data)
	}
	if err := prepareOut(*out, *force); err != nil {
		return err
	}
	if mode == protocol.ModeBeacon {
		if err := os.MkdirAll(*beaconDir, 0o755); err != nil {
			return err
		}
	}
	key, err := loadKey(*keyPath, *out)
	if err != nil {
		return err
	}
	bk, err := backend(*be)
	if err != nil {
		return err
	}
	if *succinct && bk.Name() != "cpu" {
		return cli.Usagef("--succinct runs on the cpu backend (the circuit's witness is the whole trace)")
	}
	t, err := prover.NewTrainer(cfg, uint32(*samples), mode, trainSet, bk)
	if err != nil {
		return err
	}
	id := t.Task.ID()
	if err := os.WriteFile(filepath.Join(*out, "task.id"), []byte(hex.EncodeToString(id[:])+"\n"), 0o644); err != nil {
		return err
	}
	if *succinct {
		return trainSuccinct(ctx, t, *pkPath, key, *out, *steps, testSet, trainSet)
	}
	variant := bundle.Sampled
	if *full {
		variant = bundle.Full
	}
	sum := trainSummary{Steps: *steps, Out: *out, Backend: bk.Name(), Variant: variant.String(), Samples: *samples, Mode: *modeName}
	sum.TaskID = hex.EncodeToString(id[:])
	bar := cli.NewProgress(os.Stderr, "train", *steps)
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
		return err
	}
	sum.StepsPerSecond = float64(*steps) / time.Since(start).Seconds()
	// Evaluation is a report, not part of the proof: on the emulator it runs on the CPU.
	evalBe := bk
	if bk.Name() == "emu" {
		evalBe = matmul.NewCPU()
	}
	acc, loss, err := t.Model().EvaluateOn(ctx, testSet, evalBe)
	if err != nil {
		return err
	}
	sum.TestAccuracy, sum.FinalLoss = acc, loss
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(sum)
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
	fmt.Fprintf(w, "bundles\t%d %s bundles, %s in %s\n", sum.Steps, sum.Variant, cli.Bytes(sum.BundleBytes), sum.Out)
	return w.Flush()
}

// trainSuccinct trains steps on the CPU and proves each with the step
// circuit, writing step-NNNNNN.tps.
func trainSuccinct(ctx context.Context, t *prover.Trainer, pkPath string, key ed25519.PrivateKey, out string, steps int, testSet, trainSet *dataset.Set) error {
	t0 := time.Now()
	k, err := snark.LoadStepProver(pkPath)
	if err != nil {
		return cli.Usage(fmt.Errorf("--pk: %w", err))
	}
	if want := snark.StepShapeOf(t.Task); !want.Equal(k.Shape) {
		return cli.Usagef("the proving key is for another model or sample count (layers %v, batch %d, %d samples) than this task (layers %v, batch %d, %d samples); make keys with the same flags",
			k.Shape.Config.Layers, k.Shape.Config.Batch, k.Shape.Samples, want.Config.Layers, want.Config.Batch, want.Samples)
	}
	tree, err := snark.NewDataTree(trainSet)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: keys and data tree ready in %.1f s (%d constraints per step)\n", name, time.Since(t0).Seconds(), k.CS.GetNbConstraints())
	model := t.Model()
	pub := key.Public().(ed25519.PublicKey)
	var trainS, proveS float64
	bar := cli.NewProgress(os.Stderr, "train", steps)
	defer bar.Done() // on an error; Done is idempotent
	for s := 0; s < steps; s++ {
		t1 := time.Now()
		tr, err := model.Step(ctx)
		if err != nil {
			return err
		}
		t2 := time.Now()
		w, err := snark.NewStepWitness(t.Task, pub, tr, trainSet, tree)
		if err != nil {
			return err
		}
		enc, err := snark.ProveStep(k, t.Task, w, key)
		if err != nil {
			return fmt.Errorf("step %d: %w", tr.Step, err)
		}
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("step-%06d.tps", tr.Step)), enc, 0o644); err != nil {
			return err
		}
		trainS += t2.Sub(t1).Seconds()
		proveS += time.Since(t2).Seconds()
		bar.Set(s+1, fmt.Sprintf("%.1f s/step, %s bundles", time.Since(t1).Seconds(), cli.Bytes(int64(len(enc)))))
	}
	bar.Done()
	acc, _, err := model.Evaluate(ctx, testSet)
	if err != nil {
		return err
	}
	id := t.Task.ID()
	fmt.Printf("task %x: %d steps, test accuracy %.4f, train %.1f s, Groth16 prove %.1f s (%.1f s/step) -> %s/step-*.tps\n",
		id[:8], steps, acc, trainS, proveS, proveS/float64(steps), out)
	return nil
}
