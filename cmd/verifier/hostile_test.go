package main

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/protocol"
)

// TestHostileFilesBoundedMemory plays issue 13's goal against the built
// binaries: no input of up to 1 GiB makes `verifier` or `prover ceremony
// verify` use more than 64 MiB beyond the file, or exit other than cleanly
// (1 or 2). Each hostile file is sparse (zeros on disk cost nothing), and
// each binary runs in its own process so that its peak RSS (getrusage's
// maxrss) is its own.
func TestHostileFilesBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and reads 1 GiB files")
	}
	if runtime.GOOS != "linux" {
		t.Skip("maxrss in KiB is Linux's")
	}
	const GiB = 1 << 30
	bin := t.TempDir()
	for _, cmd := range []string{"verifier", "prover"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin, cmd), "../"+cmd).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	dir := t.TempDir()
	sparse := func(name string, head []byte, size int64) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, head, 0o644))
		require.NoError(t, os.Truncate(p, size))
		return p
	}
	// Development keys for a tiny matmul unit, so that succinct runs reach
	// their bundles.
	keys := filepath.Join(dir, "keys")
	out, err := exec.Command(filepath.Join(bin, "prover"), "setup", "--n", "8", "--samples", "2", "--out", keys).CombinedOutput()
	require.NoError(t, err, "%s", out)
	vk := filepath.Join(keys, "matmul.vk")

	// A full-mode matmul bundle of 16000³ whose header is valid and whose
	// size is the one the header implies (C: 1.02 GB), all zeros after it:
	// it must be read and decoded to be refused.
	task := protocol.Task{Work: protocol.WorkMatMul, Mode: protocol.ModeFiatShamir, Samples: 8,
		MatMul: protocol.MatMulSpec{M: 16000, K: 16000, N: 16000, Seed: 1}}
	plan, err := protocol.NewPlan(task)
	require.NoError(t, err)
	tb := task.AppendBinary(nil)
	head := append([]byte(bundle.Magic), 0, 0, byte(bundle.Full))
	binary.BigEndian.PutUint16(head[len(bundle.Magic):], bundle.Version)
	head = binary.BigEndian.AppendUint16(head, uint16(len(tb)))
	head = append(head, tb...)
	size := int64(len(head)) + 8 + 32 + int64(len(plan.Matrices))*32 + 96
	for _, m := range plan.Matrices {
		if m.Committed() {
			size += int64(m.Rows) * int64(m.RowBytes())
		}
	}
	require.LessOrEqual(t, size, int64(GiB))
	valid := sparse("header/unit.tpb", head, size)
	_, _, err = bundle.ReadHeader(valid)
	require.NoError(t, err, "the header is valid and the size the one it implies")

	ceremony := func(name string, phase1 int64) string {
		d := filepath.Join(dir, name)
		sparse(name+"/ceremony", []byte("trainproof ceremony v1 8 8 8 2\n"), 31)
		sparse(name+"/phase1/0000.bin", nil, phase1)
		return d
	}
	zeros := sparse("zeros/unit.tpb", nil, GiB)
	tps := sparse("tps/unit.tps", nil, GiB)
	cases := []struct {
		name string
		cmd  string
		args []string
		size int64 // what the tool may have to hold
	}{
		{"zeros as a bundle", "verifier", []string{"verify", "--any-task", zeros}, GiB},
		{"a valid header, 1 GiB of zeros", "verifier", []string{"verify", "--any-task", valid}, size},
		{"a directory with it", "verifier", []string{"verify", "--any-task", filepath.Dir(valid)}, size},
		{"inspect", "verifier", []string{"inspect", zeros}, GiB},
		{"a succinct bundle", "verifier", []string{"verify", "--mode", "succinct", "--allow-dev-keys", "--vk", vk, "--any-task", tps}, GiB},
		{"a verifying key", "verifier", []string{"verify", "--mode", "succinct", "--allow-dev-keys", "--vk", zeros, "--any-task", tps}, GiB},
		{"a public key", "verifier", []string{"verify", "--any-task", "--key", zeros, valid}, GiB},
		{"a nonces file", "verifier", []string{"verify", "--any-task", "--nonces", zeros, valid}, GiB},
		{"a checkpoint file", "verifier", []string{"verify", "--any-task", "--checkpoint", zeros, valid}, GiB},
		{"a phase-1 file", "prover", []string{"ceremony", "verify", "--dir", ceremony("c1", GiB)}, GiB},
		{"a ceremony file", "prover", []string{"ceremony", "verify", "--dir", filepath.Dir(sparse("c2/ceremony", []byte("trainproof ceremony v1 8 8 8 2\n"), GiB))}, GiB},
	}
	// A FIFO in any file's place is refused, not waited on.
	fifo := filepath.Join(dir, "fifo.tpb")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, args := range [][]string{
		{"verify", "--any-task", fifo},
		{"verify", "--any-task", "--key", fifo, valid},
		{"verify", "--any-task", "--nonces", fifo, valid},
		{"verify", "--any-task", "--checkpoint", fifo, valid},
		{"verify", "--mode", "succinct", "--allow-dev-keys", "--vk", fifo, "--any-task", tps},
		{"inspect", fifo},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, filepath.Join(bin, "verifier"), args...).CombinedOutput()
		cancel()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%v: %s", args, out)
		require.Contains(t, []int{1, 2}, ee.ExitCode(), "%v: %s", args, out)
	}
	for _, tc := range cases {
		cmd := exec.Command(filepath.Join(bin, tc.cmd), tc.args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%s: %s", tc.name, out)
		code := ee.ExitCode()
		require.Contains(t, []int{1, 2}, code, "%s: exit %d: %s", tc.name, code, out)
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
		t.Logf("%-32s exit %d, peak RSS %4d MiB for a %4d MiB input: %s", tc.name, code, rss>>20, tc.size>>20, lastLine(out))
		require.LessOrEqual(t, rss, tc.size+64<<20, "%s: peak RSS %d MiB", tc.name, rss>>20)
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
