package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark/backend/groth16"

	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
)

func setupCmd(args []string) error {
	fs := newFlags("setup")
	n := fs.Int("n", 8, "matrix size of the matmul units (a power of two)")
	samples := fs.Int("samples", 2, "rows sampled per group inside the circuit")
	out := fs.String("out", "", "directory for the keys (matmul.* or step.*) and the Solidity verifier")
	trainKeys := fs.Bool("train", false, "keys for training steps (step.pk, step.vk, Verifier.sol, StepChain.sol) instead of matmul units")
	mf := addModelFlags(fs, "--train: ")
	if err := cli.Parse(fs, args, false); err != nil {
		return err
	}
	set := setFlags(fs)
	if *out == "" {
		return cli.Usagef("setup needs --out DIR")
	}
	if err := cli.Range("samples", *samples, 1, protocol.MaxSamples); err != nil {
		return err
	}
	if *trainKeys {
		if set["n"] {
			return cli.Usagef("--n is for matmul keys, not --train")
		}
	} else if err := onlyWith(set, "--train", "batch", "layers", "lr-decay-every", "lr-max-shift"); err != nil {
		return err
	} else if err := cli.Range("n", *n, 1, protocol.MaxDim); err != nil {
		return err
	}
	var cfg snark.StepShape
	if *trainKeys {
		c, err := mf.config()
		if err != nil {
			return err
		}
		cfg = snark.StepShape{Config: c, Samples: *samples}
	}
	fmt.Fprintf(os.Stderr, "%s: warning: development keys from a single-party setup: whoever ran it can forge proofs; not for production\n", name)
	if *trainKeys {
		return setupStep(cfg, *out)
	}
	shape := snark.MatMulShape{M: *n, K: *n, N: *n, S: *samples}
	t0 := time.Now()
	k, err := snark.DevSetup(shape)
	if err != nil {
		return cli.Usage(err)
	}
	if err := writeKeys(k, *out); err != nil {
		return err
	}
	fmt.Printf("setup %+v: %d constraints, %.1f s -> %s\n", shape, k.CS.GetNbConstraints(), time.Since(t0).Seconds(), *out)
	return nil
}

func setupStep(shape snark.StepShape, out string) error {
	t0 := time.Now()
	k, err := snark.DevSetupStep(shape)
	if err != nil {
		return cli.Usage(err)
	}
	if err := writeStepKeys(k, out); err != nil {
		return err
	}
	fmt.Printf("setup: training step of layers %v, batch %d, %d samples: %d constraints, %.1f s -> %s\n",
		shape.Config.Dims(), shape.Config.Batch, shape.Samples, k.CS.GetNbConstraints(), time.Since(t0).Seconds(), out)
	return nil
}

// keyPair is what both kinds of Groth16 keys offer for writing.
type keyPair interface {
	MarshalPK() ([]byte, error)
	MarshalVK() ([]byte, error)
}

// writeKeyFiles writes stem.pk, stem.vk, the exported Solidity verifier
// (Verifier.sol) and any extra files into out.
func writeKeyFiles(k keyPair, vk groth16.VerifyingKey, stem, out string, extra map[string][]byte) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	pk, err := k.MarshalPK()
	if err != nil {
		return err
	}
	vkb, err := k.MarshalVK()
	if err != nil {
		return err
	}
	var sol bytes.Buffer
	if err := vk.ExportSolidity(&sol); err != nil {
		return err
	}
	files := map[string][]byte{stem + ".pk": pk, stem + ".vk": vkb, "Verifier.sol": sol.Bytes()}
	maps.Copy(files, extra)
	for f, b := range files {
		if err := snark.WriteKeyFile(filepath.Join(out, f), b); err != nil {
			return err
		}
	}
	return nil
}

// writeKeys writes matmul.pk, matmul.vk and Verifier.sol.
func writeKeys(k *snark.Keys, out string) error { return writeKeyFiles(k, k.VK, "matmul", out, nil) }

// writeStepKeys writes step.pk, step.vk, Verifier.sol and its StepChain.sol wrapper.
func writeStepKeys(k *snark.StepKeys, out string) error {
	return writeKeyFiles(k, k.VK, "step", out, map[string][]byte{
		"StepChain.sol": []byte(snark.StepChainSolidity(len(k.Shape.Config.Dims()) - 1))})
}
