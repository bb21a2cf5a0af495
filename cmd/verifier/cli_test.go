package main_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// build compiles the two binaries once per test run.
func build(t *testing.T) (prover, verifier string) {
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/seed46f70faa/trainproof/cmd/prover", "github.com/seed46f70faa/trainproof/cmd/verifier").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return filepath.Join(dir, "prover"), filepath.Join(dir, "verifier")
}

func run(t *testing.T, name string, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(name, args...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return so.String(), se.String(), code
}

func TestCLI(t *testing.T) {
	prover, verifier := build(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	out, _, code := run(t, prover, "keygen", "--out", key)
	require.Equal(t, 0, code)
	require.Contains(t, out, "public key:")
	_, errOut, code := run(t, prover, "keygen", "--out", key)
	require.Equal(t, 2, code, "an existing key is not overwritten")
	require.Contains(t, errOut, "prover: error:")

	good := filepath.Join(dir, "good.tpb")
	_, errOut, code = run(t, prover, "matmul", "--n", "96", "--key", key, "--out", good)
	require.Equal(t, 0, code, errOut)
	full := filepath.Join(dir, "full.tpb")
	_, errOut, code = run(t, prover, "matmul", "--n", "64", "--seed", "3", "--full", "--key", key, "--out", full)
	require.Equal(t, 0, code, errOut)

	out, errOut, code = run(t, verifier, "verify", "--json", "--key", key+".pub", good, full)
	require.Equal(t, 0, code, errOut)
	var res struct {
		Accepted, Rejected int
		Results            []struct {
			Accepted bool
			Mode     string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, 2, res.Accepted)
	modes := []string{res.Results[0].Mode, res.Results[1].Mode}
	require.ElementsMatch(t, []string{"full", "sampled"}, modes, "a full-data bundle is checked in full mode by default")

	// A corrupted bundle: exit 1 with the reason on stderr.
	b, err := os.ReadFile(good)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	bad := filepath.Join(dir, "bad.tpb")
	require.NoError(t, os.WriteFile(bad, b, 0o644))
	_, errOut, code = run(t, verifier, "verify", good, bad)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "rejected "+bad)

	// The same bundle twice is a replay.
	_, errOut, code = run(t, verifier, "verify", good, good)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "replayed")

	// Wrong signer: exit 1. Usage and I/O errors: exit 2.
	other := filepath.Join(dir, "other")
	run(t, prover, "keygen", "--out", other)
	_, _, code = run(t, verifier, "verify", "--key", other+".pub", good)
	require.Equal(t, 1, code)
	_, _, code = run(t, verifier, "verify", filepath.Join(dir, "missing.tpb"))
	require.Equal(t, 2, code)
	_, _, code = run(t, verifier, "verify", "--mode", "bogus", good)
	require.Equal(t, 2, code)
	_, _, code = run(t, verifier, "verify", "--mode", "full", good)
	require.Equal(t, 1, code, "a sampled bundle cannot be verified in full mode")

	out, _, code = run(t, verifier, "inspect", good)
	require.Equal(t, 0, code)
	var sum map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, "matmul", sum["work"])
	require.Equal(t, "sampled", sum["variant"])

	// A missing data set is a clear error with the install hint.
	_, errOut, code = run(t, prover, "train", "--steps", "1", "--out", filepath.Join(dir, "run"), "--data", filepath.Join(dir, "nodata"))
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "apt-get install dataset-fashion-mnist")
}

// TestTrainCLI runs the main job briefly on the real data set.
func TestTrainCLI(t *testing.T) {
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil {
		t.Skip("Fashion-MNIST not installed")
	}
	prover, verifier := build(t)
	dir := filepath.Join(t.TempDir(), "run")
	out, errOut, code := run(t, prover, "train", "--steps", "20", "--samples", "8", "--out", dir, "--json")
	require.Equal(t, 0, code, errOut)
	var sum map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	for _, k := range []string{"steps", "test_accuracy", "final_loss", "prove_seconds", "bundle_bytes"} {
		require.Contains(t, sum, k)
	}
	require.Greater(t, sum["test_accuracy"].(float64), 0.3)
	out, errOut, code = run(t, verifier, "verify", "--key", filepath.Join(dir, "miner.key.pub"), dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "20 accepted, 0 rejected")

	// Remove a step from the middle: the chain breaks.
	require.NoError(t, os.Remove(filepath.Join(dir, "step-000007.tpb")))
	_, errOut, code = run(t, verifier, "verify", dir)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "stale bundle")
}

// TestEmuBackendSameBundles: the CUDA code path in the SIMT emulator and the
// CPU backend write byte-identical bundles for the same seed and key.
func TestEmuBackendSameBundles(t *testing.T) {
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil {
		t.Skip("Fashion-MNIST not installed")
	}
	prover, _ := build(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	_, _, code := run(t, prover, "keygen", "--out", key)
	require.Equal(t, 0, code)
	args := []string{"train", "--steps", "2", "--batch", "16", "--layers", "32,16", "--samples", "4", "--key", key}
	_, errOut, code := run(t, prover, append(args, "--backend", "cpu", "--out", filepath.Join(dir, "cpu"))...)
	require.Equal(t, 0, code, errOut)
	_, errOut, code = run(t, prover, append(args, "--backend", "emu", "--out", filepath.Join(dir, "emu"))...)
	require.Equal(t, 0, code, errOut)
	// A matmul unit too: on the emulated device C stays resident and only
	// the opened rows come back; the bundle is the same.
	for _, variant := range []string{"--samples=8", "--full"} {
		outs := []string{}
		for _, be := range []string{"cpu", "emu"} {
			out := filepath.Join(dir, "mm-"+be+variant+".tpb")
			_, errOut, code := run(t, prover, "matmul", "--n", "70", "--seed", "5", variant, "--key", key, "--backend", be, "--out", out)
			require.Equal(t, 0, code, errOut)
			outs = append(outs, out)
		}
		a, err := os.ReadFile(outs[0])
		require.NoError(t, err)
		b, err := os.ReadFile(outs[1])
		require.NoError(t, err)
		require.Equal(t, a, b, "matmul %s bundle differs between cpu and emu", variant)
	}
	for _, f := range []string{"step-000000.tpb", "step-000001.tpb"} {
		a, err := os.ReadFile(filepath.Join(dir, "cpu", f))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(dir, "emu", f))
		require.NoError(t, err)
		require.Equal(t, a, b, "%s differs between --backend cpu and --backend emu", f)
	}
}

// TestSuccinctCLI: development keys, a succinct matmul bundle, its
// verification, and rejections of a tampered bundle and a foreign key.
func TestSuccinctCLI(t *testing.T) {
	prover, verifier := build(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	run(t, prover, "keygen", "--out", key)
	out, errOut, code := run(t, prover, "setup", "--n", "8", "--samples", "2", "--out", filepath.Join(dir, "keys"))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "not for production")
	require.Contains(t, out, "constraints")
	bundlePath := filepath.Join(dir, "u.tps")
	_, errOut, code = run(t, prover, "matmul", "--n", "8", "--samples", "2", "--succinct", "--pk", filepath.Join(dir, "keys", "matmul.pk"), "--key", key, "--out", bundlePath)
	require.Equal(t, 0, code, errOut)
	vk := filepath.Join(dir, "keys", "matmul.vk")
	out, errOut, code = run(t, verifier, "verify", "--mode", "succinct", "--vk", vk, bundlePath)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "accepted")
	require.NotContains(t, out, "INF", "gnark's logger is off")
	out, errOut, code = run(t, verifier, "inspect", bundlePath)
	require.Equal(t, 0, code, errOut)
	var sum map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, "succinct", sum["format"])
	require.Equal(t, "matmul", sum["work"])
	require.Len(t, sum["roots"], 3)

	b, err := os.ReadFile(bundlePath)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(bundlePath, b, 0o644))
	_, errOut, code = run(t, verifier, "verify", "--mode", "succinct", "--vk", vk, bundlePath)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "rejected")
	_, _, code = run(t, verifier, "verify", "--mode", "succinct", bundlePath)
	require.Equal(t, 2, code, "no --vk")
}
