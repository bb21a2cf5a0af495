package main_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

	out, errOut, code = run(t, verifier, "verify", "--any-task", "--json", "--key", key+".pub", good, full)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "warning: --any-task accepts any task")
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
	_, errOut, code = run(t, verifier, "verify", "--any-task", good, bad)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "rejected "+bad)

	// The same bundle twice is a replay.
	_, errOut, code = run(t, verifier, "verify", "--any-task", good, good)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "replayed")

	// Wrong signer: exit 1. Usage and I/O errors: exit 2.
	other := filepath.Join(dir, "other")
	run(t, prover, "keygen", "--out", other)
	_, _, code = run(t, verifier, "verify", "--any-task", "--key", other+".pub", good)
	require.Equal(t, 1, code)
	_, _, code = run(t, verifier, "verify", "--any-task", filepath.Join(dir, "missing.tpb"))
	require.Equal(t, 2, code)
	_, _, code = run(t, verifier, "verify", "--any-task", "--mode", "bogus", good)
	require.Equal(t, 2, code)
	_, _, code = run(t, verifier, "verify", "--any-task", "--mode", "full", good)
	require.Equal(t, 1, code, "a sampled bundle cannot be verified in full mode")

	out, _, code = run(t, verifier, "inspect", good)
	require.Equal(t, 0, code)
	var sum map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, "matmul", sum["work"])
	require.Equal(t, "sampled", sum["variant"])

	// Task pinning: a verifier must name the task it pays for.
	goodID := sum["task_id"].(string)
	_, errOut, code = run(t, verifier, "verify", good)
	require.Equal(t, 2, code, "no --task and no --any-task")
	require.Contains(t, errOut, "no task pinned")
	require.Contains(t, errOut, "--task")
	_, _, code = run(t, verifier, "verify", "--task", goodID, "--any-task", good)
	require.Equal(t, 2, code, "--task and --any-task together")
	_, _, code = run(t, verifier, "verify", "--task", "abc", good)
	require.Equal(t, 2, code, "a malformed task id")
	out, errOut, code = run(t, verifier, "verify", "--task", goodID, good)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "1 accepted, 0 rejected")
	require.NotContains(t, errOut, "warning")
	_, errOut, code = run(t, verifier, "verify", "--task", strings.Repeat("ab", 32), good)
	require.Equal(t, 1, code, "another task's bundle")
	require.Contains(t, errOut, "wrong task")
	// An allow-list: each bundle's task must be in it.
	out, _, code = run(t, verifier, "inspect", full)
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	fullID := sum["task_id"].(string)
	_, errOut, code = run(t, verifier, "verify", "--task", goodID, "--task", fullID, good, full)
	require.Equal(t, 0, code, errOut)
	_, errOut, code = run(t, verifier, "verify", "--task", goodID, "--task", strings.Repeat("cd", 32), good, full)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "rejected "+full)
	require.Contains(t, errOut, "allow-list")

	// A missing data set is a clear error with the install hint.
	_, errOut, code = run(t, prover, "train", "--steps", "1", "--out", filepath.Join(dir, "run"), "--data", filepath.Join(dir, "nodata"))
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "apt-get install dataset-fashion-mnist")
	require.Equal(t, 1, strings.Count(errOut, "apt-get install"), "the hint once: %s", errOut)
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
	id := taskID(t, dir)
	require.Equal(t, sum["task_id"], id)
	out, errOut, code = run(t, verifier, "verify", "--task", id, "--key", filepath.Join(dir, "miner.key.pub"), dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "20 accepted, 0 rejected")
	require.Contains(t, out, "steps 0..19 linked")

	// A checkpoint: verify steps 0..9, then resume at step 10 from the
	// checkpoint the first run printed.
	first, second := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for s := 0; s < 20; s++ {
		f := fmt.Sprintf("step-%06d.tpb", s)
		to := first
		if s >= 10 {
			to = second
		}
		require.NoError(t, os.MkdirAll(to, 0o755))
		require.NoError(t, os.Link(filepath.Join(dir, f), filepath.Join(to, f)))
	}
	out, errOut, code = run(t, verifier, "verify", "--task", id, "--json", first)
	require.Equal(t, 0, code, errOut)
	var rep struct {
		Chains []struct {
			TaskID     string          `json:"task_id"`
			First      uint64          `json:"first_step"`
			Next       uint64          `json:"next_step"`
			Checkpoint json.RawMessage `json:"checkpoint"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Chains, 1)
	require.Equal(t, uint64(0), rep.Chains[0].First)
	require.Equal(t, uint64(10), rep.Chains[0].Next)
	cp := filepath.Join(t.TempDir(), "cp.json")
	require.NoError(t, os.WriteFile(cp, rep.Chains[0].Checkpoint, 0o644))
	out, errOut, code = run(t, verifier, "verify", "--task", id, "--checkpoint", cp, second)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "10 accepted, 0 rejected")
	require.Contains(t, out, "steps 10..19 linked", "the summary names the chain's real first step")
	// Without the checkpoint the chain expects step 0: nothing links, and
	// the summary says so rather than "0..-1".
	out, errOut, code = run(t, verifier, "verify", "--task", id, second)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "stale bundle")
	require.Contains(t, out, "no step linked")
	require.NotContains(t, out, "..-1")
	// A checkpoint from another point of the run: step 10 does not extend it.
	var cpObj map[string]any
	require.NoError(t, json.Unmarshal(rep.Chains[0].Checkpoint, &cpObj))
	cpObj["prev"] = strings.Repeat("00", 32)
	b, err := json.Marshal(cpObj)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cp, b, 0o644))
	_, errOut, code = run(t, verifier, "verify", "--task", id, "--checkpoint", cp, second)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "stale bundle")
	require.NoError(t, os.WriteFile(cp, []byte(`{"task_id": "00"}`), 0o644))
	_, _, code = run(t, verifier, "verify", "--task", id, "--checkpoint", cp, second)
	require.Equal(t, 2, code, "a malformed checkpoint")

	// Remove a step from the middle: the chain breaks.
	require.NoError(t, os.Remove(filepath.Join(dir, "step-000007.tpb")))
	_, errOut, code = run(t, verifier, "verify", "--task", id, dir)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "stale bundle")
}

// taskID reads the task id prover train wrote to OUT/task.id.
func taskID(t *testing.T, out string) string {
	b, err := os.ReadFile(filepath.Join(out, "task.id"))
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(b), "\n"))
	id := strings.TrimSpace(string(b))
	require.Len(t, id, 64)
	return id
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
	out, errOut, code = run(t, verifier, "inspect", bundlePath)
	require.Equal(t, 0, code, errOut)
	var sum map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	id := sum["task_id"].(string)
	_, _, code = run(t, verifier, "verify", "--mode", "succinct", "--allow-dev-keys", "--vk", vk, bundlePath)
	require.Equal(t, 2, code, "no --task and no --any-task")
	_, errOut, code = run(t, verifier, "verify", "--mode", "succinct", "--vk", vk, "--task", id, bundlePath)
	require.Equal(t, 2, code, "a development key without --allow-dev-keys")
	require.Contains(t, errOut, "development key")
	_, errOut, code = run(t, verifier, "verify", "--mode", "succinct", "--allow-dev-keys", "--vk", vk, "--task", strings.Repeat("ab", 32), bundlePath)
	require.Equal(t, 1, code, "another task")
	require.Contains(t, errOut, "wrong task")
	_, errOut, code = run(t, verifier, "verify", "--mode", "succinct", "--allow-dev-keys", "--vk", vk, "--task", strings.Repeat("ab", 32), "--task", id, bundlePath)
	require.Equal(t, 0, code, "in the allow-list: %s", errOut)
	out, errOut, code = run(t, verifier, "verify", "--mode", "succinct", "--allow-dev-keys", "--vk", vk, "--task", id, bundlePath)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "accepted")
	require.NotContains(t, out, "INF", "gnark's logger is off")
	// Auto mode recognises succinct bundles, named or in a directory; they
	// need their verifying key.
	out, errOut, code = run(t, verifier, "verify", "--allow-dev-keys", "--vk", vk, "--task", id, dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "accepted")
	_, errOut, code = run(t, verifier, "verify", "--task", id, bundlePath)
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "need --vk")
	// One product claimed twice (the same statement in two files) counts once.
	twice := t.TempDir()
	enc, err := os.ReadFile(bundlePath)
	require.NoError(t, err)
	for _, f := range []string{"a.tps", "b.tps"} {
		require.NoError(t, os.WriteFile(filepath.Join(twice, f), enc, 0o644))
	}
	out, errOut, code = run(t, verifier, "verify", "--mode", "succinct", "--allow-dev-keys", "--vk", vk, "--task", id, twice)
	require.Equal(t, 1, code, out)
	require.Contains(t, errOut, "already claimed")
	require.Equal(t, "succinct", sum["format"])
	require.Equal(t, "matmul", sum["work"])
	require.Len(t, sum["roots"], 3)

	b, err := os.ReadFile(bundlePath)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	require.NoError(t, os.WriteFile(bundlePath, b, 0o644))
	_, errOut, code = run(t, verifier, "verify", "--mode", "succinct", "--allow-dev-keys", "--vk", vk, "--task", id, bundlePath)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "rejected")
	_, _, code = run(t, verifier, "verify", "--mode", "succinct", "--task", id, bundlePath)
	require.Equal(t, 2, code, "no --vk")
}

// TestBeaconCLI: a beacon-mode run end to end. The prover publishes each
// step's commitment, verifier beacon issues its nonce, and verify accepts the
// bundles only with the nonces as issued, for the commitments published.
func TestBeaconCLI(t *testing.T) {
	if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err != nil {
		t.Skip("Fashion-MNIST not installed")
	}
	prover, verifier := build(t)
	dir := t.TempDir()
	out, beaconDir, nonces := filepath.Join(dir, "run"), filepath.Join(dir, "beacon"), filepath.Join(dir, "nonces.txt")
	require.NoError(t, os.MkdirAll(beaconDir, 0o755))

	// The issuer runs beside the prover, as it would on a validator.
	var bout, berr strings.Builder
	issuer := exec.Command(verifier, "beacon", "--dir", beaconDir, "--nonces", nonces, "--steps", "2", "--timeout", "5m")
	issuer.Stdout, issuer.Stderr = &bout, &berr
	require.NoError(t, issuer.Start())
	t.Cleanup(func() { issuer.Process.Kill() })
	train := []string{"train", "--mode", "beacon", "--beacon-dir", beaconDir, "--steps", "2",
		"--layers", "8,6", "--batch", "4", "--samples", "2", "--out", out}
	so, errOut, code := run(t, prover, train...)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, so, "nonce wait")
	require.NoError(t, issuer.Wait(), "beacon: %s", berr.String())
	id := taskID(t, out)

	record, err := os.ReadFile(nonces)
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(record), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 2, "one nonce per step: %s", record)
	for s, l := range lines {
		f := strings.Fields(l)
		require.Len(t, f, 3)
		require.Equal(t, fmt.Sprint(s), f[0])
		c, err := os.ReadFile(filepath.Join(beaconDir, fmt.Sprintf("step-%06d.commitment", s)))
		require.NoError(t, err)
		require.Equal(t, strings.TrimSpace(string(c)), f[2], "the nonce is recorded for the commitment published")
	}

	so, errOut, code = run(t, verifier, "verify", "--task", id, "--nonces", nonces, out)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, so, "2 accepted, 0 rejected")
	require.Contains(t, so, "steps 0..1 linked")

	// Without the nonces a beacon-mode bundle cannot be checked.
	_, errOut, code = run(t, verifier, "verify", "--task", id, out)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no nonce")

	// A record edited after the fact: another nonce, or the nonce moved to
	// another commitment, rejects the step.
	edit := func(line, field int, value string) string {
		ls := slices.Clone(lines)
		f := strings.Fields(ls[line])
		f[field] = value
		ls[line] = strings.Join(f, " ")
		p := filepath.Join(t.TempDir(), "nonces.txt")
		require.NoError(t, os.WriteFile(p, []byte(strings.Join(ls, "\n")+"\n"), 0o644))
		return p
	}
	flip := func(h string) string {
		if h[0] == '0' {
			return "1" + h[1:]
		}
		return "0" + h[1:]
	}
	for _, tc := range []struct {
		name  string
		field int
	}{{"nonce", 1}, {"commitment", 2}} {
		f := strings.Fields(lines[1])
		_, errOut, code = run(t, verifier, "verify", "--task", id, "--nonces", edit(1, tc.field, flip(f[tc.field])), out)
		require.Equal(t, 1, code, "an edited %s", tc.name)
		require.Contains(t, errOut, "step-000001.tpb")
		require.Contains(t, errOut, "stale bundle")
		require.NotContains(t, errOut, "step-000000.tpb")
	}

	// Malformed records are usage errors, and so is a second nonce for a step.
	for _, bad := range []string{
		"0 zz " + strings.Repeat("00", 32),
		"x " + strings.Repeat("00", 32) + " " + strings.Repeat("00", 32),
		"0 " + strings.Repeat("00", 32),
		"0 " + strings.Repeat("00", 32) + " -",
		lines[0] + "\n" + lines[0],
	} {
		p := filepath.Join(t.TempDir(), "nonces.txt")
		require.NoError(t, os.WriteFile(p, []byte(bad+"\n"), 0o644))
		_, errOut, code = run(t, verifier, "verify", "--task", id, "--nonces", p, out)
		require.Equal(t, 2, code, "%q: %s", bad, errOut)
	}

	// The issuer never issues a second nonce for a step: restarted, it
	// publishes the recorded nonce again, and refuses a new commitment.
	n0, err := os.ReadFile(filepath.Join(beaconDir, "step-000000.nonce"))
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(beaconDir, "step-000000.nonce")))
	require.NoError(t, os.WriteFile(filepath.Join(beaconDir, "step-000001.commitment"), []byte(strings.Repeat("ee", 32)+"\n"), 0o644))
	_, errOut, code = run(t, verifier, "beacon", "--dir", beaconDir, "--nonces", nonces, "--timeout", "300ms")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "already issued")
	again, err := os.ReadFile(filepath.Join(beaconDir, "step-000000.nonce"))
	require.NoError(t, err)
	require.Equal(t, n0, again)
	after, err := os.ReadFile(nonces)
	require.NoError(t, err)
	require.Equal(t, record, after, "the record is unchanged")
	_, _, code = run(t, verifier, "beacon", "--dir", beaconDir, "--nonces", nonces, "--steps", "3", "--timeout", "200ms")
	require.Equal(t, 1, code, "stopped before --steps")

	// A prover whose nonce never comes stops with a clear error.
	_, errOut, code = run(t, prover, "train", "--mode", "beacon", "--beacon-dir", filepath.Join(dir, "silent"), "--beacon-timeout", "200ms",
		"--steps", "1", "--layers", "8,6", "--batch", "4", "--samples", "2", "--out", filepath.Join(dir, "run2"))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "no nonce for step 0")
	_, _, code = run(t, prover, "train", "--mode", "beacon", "--steps", "1", "--out", filepath.Join(dir, "run3"))
	require.Equal(t, 2, code, "beacon mode without --beacon-dir")
}
