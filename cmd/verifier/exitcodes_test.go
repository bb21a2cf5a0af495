package main_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tinyData writes a Fashion-MNIST-shaped data set of n training and 10 test
// images. The prover trains only on the real set, so this one reaches the
// checks made before training (the batch against the set's size) whether
// or not the real one is installed.
func tinyData(t *testing.T, n int) string {
	dir := t.TempDir()
	write := func(prefix string, n int) {
		img := binary.BigEndian.AppendUint32(nil, 0x00000803)
		for _, v := range []int{n, 28, 28} {
			img = binary.BigEndian.AppendUint32(img, uint32(v))
		}
		lab := binary.BigEndian.AppendUint32(nil, 0x00000801)
		lab = binary.BigEndian.AppendUint32(lab, uint32(n))
		for i := 0; i < n; i++ {
			for p := 0; p < 28*28; p++ {
				img = append(img, byte(i*7+p*(i%10+1)))
			}
			lab = append(lab, byte(i%10))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), img, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), lab, 0o644))
	}
	write("train", n)
	write("t10k", 10)
	return dir
}

// TestExitCodes is the exit-code table of both CLIs: 0 success and -h
// everywhere, 1 a rejection, 2 a usage or I/O error.
func TestExitCodes(t *testing.T) {
	prover, verifier := build(t)
	dir := t.TempDir()
	data := tinyData(t, 100)
	key := filepath.Join(dir, "miner.key")
	_, errOut, code := run(t, prover, "keygen", "--out", key)
	require.Equal(t, 0, code, errOut)
	good := filepath.Join(dir, "good.tpb")
	_, errOut, code = run(t, prover, "matmul", "--n", "16", "--samples", "2", "--key", key, "--out", good)
	require.Equal(t, 0, code, errOut)
	b, err := os.ReadFile(good)
	require.NoError(t, err)
	b[len(b)/2] ^= 1
	bad := filepath.Join(dir, "bad.tpb")
	require.NoError(t, os.WriteFile(bad, b, 0o644))
	out := func() string { return filepath.Join(t.TempDir(), "run") }
	// train's flags are checked before anything is read or written.
	train := func(args ...string) []string {
		return append([]string{"train", "--out", out(), "--data", data, "--steps", "1", "--layers", "8", "--batch", "4", "--samples", "1"}, args...)
	}

	for _, c := range []struct {
		bin    string
		args   []string
		code   int
		stderr string // a substring stderr must hold
	}{
		// Help is success, at every level.
		{prover, []string{"-h"}, 0, "usage:"},
		{prover, []string{"--help"}, 0, "usage:"},
		{prover, []string{"help"}, 0, "usage:"},
		{prover, []string{"keygen", "-h"}, 0, "-out"},
		{prover, []string{"train", "-h"}, 0, "-force"},
		{prover, []string{"train", "--help"}, 0, "-steps"},
		{prover, []string{"matmul", "-h"}, 0, "-succinct"},
		{prover, []string{"setup", "-h"}, 0, "-train"},
		{prover, []string{"ceremony", "-h"}, 0, "ceremony init"},
		{prover, []string{"ceremony", "init", "-h"}, 0, "-samples"},
		{prover, []string{"ceremony", "contribute", "-h"}, 0, "-dir"},
		{prover, []string{"ceremony", "verify", "-h"}, 0, "-vk"},
		{prover, []string{"ceremony", "seal", "-h"}, 0, "-beacon"},
		{prover, []string{"ceremony", "finalize", "-h"}, 0, "-out"},
		{verifier, []string{"-h"}, 0, "usage:"},
		{verifier, []string{"verify", "-h"}, 0, "-any-task"},
		{verifier, []string{"inspect", "-h"}, 0, "verifier inspect FILE"},
		{verifier, []string{"beacon", "-h"}, 0, "-nonces"},
		{verifier, []string{"beacon", "--dir", dir, "--help"}, 0, "-nonces"},

		// Usage errors: no command, unknown command or flag, bad values.
		{prover, nil, 2, "no command given"},
		{prover, []string{"bogus"}, 2, `unknown command "bogus"`},
		{prover, train("--bogus"), 2, "flag provided but not defined: -bogus"},
		{prover, train("--samples", "0"), 2, "--samples 0 is out of range"},
		{prover, train("--samples", "-1"), 2, "--samples -1 is negative"},
		{prover, train("--samples", "65537"), 2, "--samples 65537 is out of range"},
		{prover, train("--steps", "0"), 2, "--steps 0 is out of range"},
		{prover, train("--batch", "0"), 2, "--batch 0 is out of range"},
		{prover, train("--batch", "65536"), 2, "larger than the training set (100 examples"},
		{prover, train("--batch", "101"), 2, "larger than the training set"},
		{prover, train("--lr-max-shift", "-3"), 2, "--lr-max-shift -3 is negative"},
		{prover, train("--lr-decay-every", "-1"), 2, "--lr-decay-every -1 is negative"},
		{prover, train("--layers", "8,-2"), 2, "--layers"},
		{prover, train("--pk", key), 2, "--pk is only meaningful with --succinct"},
		{prover, train("--succinct"), 2, "--succinct needs --pk"},
		{prover, train("--beacon-dir", dir), 2, "--beacon-dir is only meaningful with --mode beacon"},
		{prover, train("--beacon-timeout", "1s"), 2, "--beacon-timeout is only meaningful with --mode beacon"},
		{prover, train("--succinct", "--pk", key, "--json"), 2, "--json is not available with --succinct"},
		{prover, train("--mode", "sometimes"), 2, `--mode "sometimes"`},
		{prover, train("--backend", "tpu"), 2, `--backend "tpu"`},
		{prover, train("stray"), 2, `unexpected argument "stray"`},
		{prover, []string{"train", "--steps", "1"}, 2, "train needs --out DIR"},
		{prover, []string{"keygen", "--out", filepath.Join(dir, "k2"), "stray"}, 2, `unexpected argument "stray"`},
		{prover, []string{"matmul", "--n", "0", "--out", filepath.Join(dir, "m.tpb")}, 2, "--n 0 is out of range"},
		{prover, []string{"matmul", "--n", "-8", "--out", filepath.Join(dir, "m.tpb")}, 2, "--n -8 is negative"},
		{prover, []string{"matmul", "--samples", "-1", "--out", filepath.Join(dir, "m.tpb")}, 2, "--samples -1 is negative"},
		{prover, []string{"matmul", "--pk", key, "--out", filepath.Join(dir, "m.tpb")}, 2, "--pk is only meaningful with --succinct"},
		{prover, []string{"matmul", "--out", filepath.Join(dir, "m.tpb"), "extra"}, 2, `unexpected argument "extra"`},
		{prover, []string{"setup", "--out", dir, "--batch", "8"}, 2, "--batch is only meaningful with --train"},
		{prover, []string{"setup", "--out", dir, "--samples", "0"}, 2, "--samples 0 is out of range"},
		{prover, []string{"ceremony"}, 2, "ceremony needs a subcommand"},
		{prover, []string{"ceremony", "dance", "--dir", dir}, 2, "unknown ceremony subcommand"},
		{prover, []string{"ceremony", "verify", "--dir", dir, "--n", "8"}, 2, "flag provided but not defined: -n"},
		{prover, []string{"ceremony", "seal", "--dir", dir, "--beacon", "00"}, 2, "error:"},
		{verifier, nil, 2, "no command given"},
		{verifier, []string{"bogus"}, 2, `unknown command "bogus"`},
		{verifier, []string{"verify", "--any-task", "--bogus", good}, 2, "flag provided but not defined"},
		{verifier, []string{"verify", "--any-task", "--max-bytes", "-1", good}, 2, "--max-bytes -1 is out of range"},
		{verifier, []string{"verify", "--any-task", "--vk", key, good}, 2, "--vk is for succinct bundles"},
		{verifier, []string{"verify", "--any-task"}, 2, "no bundles given"},
		{verifier, []string{"verify", "--any-task", t.TempDir()}, 2, "no bundles (*.tpb or *.tps) in"},
		{verifier, []string{"verify", good}, 2, "no task pinned"},
		{verifier, []string{"verify", good, "--any-task"}, 2, "flags go before the paths"},
		{verifier, []string{"inspect"}, 2, "inspect takes one bundle file"},
		{verifier, []string{"inspect", good, bad}, 2, "inspect takes one bundle file"},
		{verifier, []string{"beacon"}, 2, "beacon needs --dir"},

		// I/O errors.
		{verifier, []string{"inspect", dir}, 2, "not a regular file"},
		{verifier, []string{"inspect", filepath.Join(dir, "missing.tpb")}, 2, "no such file"},
		{verifier, []string{"verify", "--any-task", filepath.Join(dir, "missing.tpb")}, 2, "no such file"},
		{prover, []string{"keygen", "--out", key}, 2, "exists"},
		{prover, train("--key", filepath.Join(dir, "missing.key")), 2, "no such file"},
		{prover, train("--data", filepath.Join(dir, "nodata")), 2, "not found"},

		// Rejections.
		{verifier, []string{"verify", "--any-task", bad}, 1, "rejected " + bad},
		{verifier, []string{"verify", "--any-task", good, bad}, 1, "rejected " + bad},
		{verifier, []string{"inspect", bad}, 1, "bad signature"},

		// Success.
		{verifier, []string{"verify", "--any-task", good}, 0, ""},
		{verifier, []string{"inspect", good}, 0, ""},
	} {
		name := filepath.Base(c.bin) + " " + strings.Join(c.args, " ")
		_, errOut, code := run(t, c.bin, c.args...)
		require.Equal(t, c.code, code, "%s\nstderr: %s", name, errOut)
		require.Contains(t, errOut, c.stderr, name)
		require.NotContains(t, errOut, "4294967", "%s: a negative value shown wrapped", name)
		if c.code == 2 && !strings.Contains(strings.Join(c.args, " "), "-h") && c.bin == prover {
			require.Contains(t, errOut, "prover: error: ", name)
		}
	}
}

const fashionMNIST = "/usr/share/datasets/fashion-mnist"

// TestTrainOutDir: a used --out needs --force, which replaces the earlier
// run's bundles, so that the directory verifies as one chain; progress off a
// terminal is a line per tenth with an ETA; sizes read as people write them.
func TestTrainOutDir(t *testing.T) {
	if _, err := os.Stat(filepath.Join(fashionMNIST, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skip("Fashion-MNIST not installed")
	}
	prover, verifier := build(t)
	dir := filepath.Join(t.TempDir(), "run")
	train := func(steps string, args ...string) (string, string, int) {
		return run(t, prover, append([]string{"train", "--out", dir, "--steps", steps, "--layers", "8", "--batch", "4", "--samples", "1"}, args...)...)
	}
	out, errOut, code := train("3", "--seed", "1")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "train: 3/3 (100%)", "a progress line when stderr is not a terminal")
	require.Contains(t, errOut, "ETA")
	require.Regexp(t, `bundles +3 sampled bundles, [0-9.]+ KiB in `, out, "a small run's size is not 0.0 MiB")

	_, errOut, code = train("2", "--seed", "2")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "is not empty")
	require.Contains(t, errOut, "--force")

	_, errOut, code = train("2", "--seed", "2", "--force")
	require.Equal(t, 0, code, errOut)
	require.NoFileExists(t, filepath.Join(dir, "step-000002.tpb"), "the earlier run's bundles are gone")
	out, errOut, code = run(t, verifier, "verify", "--task", taskID(t, dir), "--key", filepath.Join(dir, "miner.key.pub"), dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "2 accepted, 0 rejected")
	require.Contains(t, out, "steps 0..1 linked")

	// A key made beforehand may be in --out, and directories (keys from
	// prover setup) too.
	fresh := filepath.Join(t.TempDir(), "run")
	require.NoError(t, os.MkdirAll(filepath.Join(fresh, "keys"), 0o755))
	_, errOut, code = run(t, prover, "keygen", "--out", filepath.Join(fresh, "miner.key"))
	require.Equal(t, 0, code, errOut)
	_, errOut, code = run(t, prover, "train", "--out", fresh, "--steps", "1", "--layers", "8", "--batch", "4", "--samples", "1", "--backend", "auto")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "backend auto: ", "auto says what it picked")
	require.Equal(t, 1, strings.Count(errOut, "backend auto"), "in one line")
}

// TestKeyChecksum: one changed digit in a key file is refused with a clear
// error, not read as another identity; a v1 key without a checksum is read
// with a warning.
func TestKeyChecksum(t *testing.T) {
	prover, _ := build(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "miner.key")
	_, errOut, code := run(t, prover, "keygen", "--out", key)
	require.Equal(t, 0, code, errOut)
	b, err := os.ReadFile(key)
	require.NoError(t, err)
	require.Contains(t, string(b), "checksum ")
	seed := strings.Index(string(b), "seed ") + len("seed ") + 10
	for _, at := range []int{seed, len(b) - 3} { // in the seed, in the checksum
		bad := []byte(string(b))
		if bad[at] == '0' {
			bad[at] = '1'
		} else {
			bad[at] = '0'
		}
		require.NoError(t, os.WriteFile(key, bad, 0o600))
		_, errOut, code = run(t, prover, "matmul", "--n", "16", "--samples", "2", "--key", key, "--out", filepath.Join(dir, "u.tpb"))
		require.Equal(t, 2, code, errOut)
		require.Contains(t, errOut, "key file damaged")
	}
	lines := strings.Split(string(b), "\n")
	v1 := "trainproof ed25519 private key v1\n" + strings.TrimPrefix(lines[1], "seed ") + "\n"
	require.NoError(t, os.WriteFile(key, []byte(v1), 0o600))
	_, errOut, code = run(t, prover, "matmul", "--n", "16", "--samples", "2", "--key", key, "--out", filepath.Join(dir, "u.tpb"))
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "v1 key file, without a checksum")
}
