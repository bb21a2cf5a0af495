package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/seed46f70faa/trainproof/commit"
)

// ChildEnv, when set in the environment of the bench binary, makes it a
// child that measures row hashing with whatever lane kernel
// golang.org/x/sys/cpu lets commit pick (the parent restricts it with
// GODEBUG=cpu.avx512f=off, cpu.avx2=off) and prints JSON on stdout: commit
// chooses its kernel once, at start-up, so each path needs its own process.
const ChildEnv = "TRAINPROOF_BENCH_CHILD"

// hashRun is one process's row-hashing measurements.
type hashRun struct {
	Kernel string `json:"kernel"`
	// Rates[metric][i] are the GB/s samples at rowSizes[i]; metrics are
	// "<what> wall" and "<what> cpu" (thread CPU time), what one of sha256,
	// blake3 (commit.HashRows), library (commit.RowHasher).
	Rates map[string][][]float64 `json:"rates"`
}

var rowSizes = []int{784, 4096, 16384, 65536}

// Child runs the child side of ChildEnv (its value: "quick" or "full",
// then ",all" to measure SHA-256 and the library too) and writes its JSON
// to stdout.
func Child(mode string) error {
	prof, all := strings.CutSuffix(mode, ",all")
	return json.NewEncoder(os.Stdout).Encode(measureHashing(prof == "quick", all))
}

// measureHashing hashes a 64-row matrix per row size on one locked thread:
// v1's SHA-256 leaves (crypto/sha256, SHA-NI where the CPU has it),
// v2's BLAKE3 leaves through commit.HashRows (this process's lane kernel),
// and through commit.RowHasher (lukechampine.com/blake3, one row at a time).
func measureHashing(quick, all bool) hashRun {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const rows = 64
	reps := pick(quick, 3, 7)
	window := pick(quick, 40*time.Millisecond, 150*time.Millisecond) // a sample hashes for at least this long
	prefix := commit.LeafPrefix(make([]byte, 20+32+8+2+1+4+4))
	key := commit.RowKey(prefix[1:])
	hr := hashRun{Kernel: commit.HashRowsKernel(), Rates: map[string][][]float64{}}
	for _, n := range rowSizes {
		data := make([]byte, rows*n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		out := make([]commit.Hash, rows)
		h := commit.NewRowHasher(&key)
		rate := func(what string, f func()) {
			var wall, cpu []float64
			for i := 0; i <= reps; i++ {
				c0, t0, iters := threadCPU(), time.Now(), 0
				for ; time.Since(t0) < window; iters++ {
					f()
				}
				s, c := time.Since(t0).Seconds(), threadCPU()-c0
				if i == 0 {
					continue
				}
				b := float64(iters*rows*n) / 1e9
				wall = append(wall, b/s)
				if c0 >= 0 && c > 0 {
					cpu = append(cpu, b/c)
				}
			}
			hr.Rates[what+" wall"] = append(hr.Rates[what+" wall"], wall)
			hr.Rates[what+" cpu"] = append(hr.Rates[what+" cpu"], cpu)
		}
		if all {
			rate("sha256", func() {
				for i := range out {
					out[i] = commit.Leaf(prefix, uint32(i), data[i*n:(i+1)*n])
				}
			})
			rate("library", func() {
				for i := range out {
					out[i] = h.Sum(data[i*n : (i+1)*n])
				}
			})
		}
		rate("blake3", func() { commit.HashRows(&key, data, n, out) })
	}
	return hr
}

// hashPaths runs one child per lane kernel this machine has (AVX-512, AVX2,
// pure Go), one after the other in this run; where the bench binary cannot
// re-run itself (under go test) it measures this process's kernel only.
func hashPaths(quick bool) []hashRun {
	self, err := os.Executable()
	var runs []hashRun
	if err == nil {
		for i, godebug := range []string{"", "cpu.avx512f=off", "cpu.avx512f=off,cpu.avx2=off"} {
			cmd := exec.Command(self)
			mode := pick(quick, "quick", "full")
			if i == 0 {
				mode += ",all"
			}
			cmd.Env = append(os.Environ(), ChildEnv+"="+mode, "GODEBUG="+godebug)
			var out bytes.Buffer
			cmd.Stdout = &out
			if cmd.Run() != nil {
				break
			}
			var hr hashRun
			if json.Unmarshal(out.Bytes(), &hr) != nil || hr.Kernel == "" {
				break
			}
			if !slices.ContainsFunc(runs, func(x hashRun) bool { return x.Kernel == hr.Kernel }) {
				runs = append(runs, hr)
			}
		}
	}
	if len(runs) == 0 {
		runs = append(runs, measureHashing(quick, true))
	}
	return runs
}

// rowHashing: the commitment section's hashing table, bytes of matrix rows
// hashed per second on one core, every path side by side in one run.
func rowHashing(ctx context.Context, r *Report, cfg Config) error {
	runs := hashPaths(cfg.Quick)
	head := []string{"row bytes", "v1 SHA-256 (crypto/sha256)"}
	for _, hr := range runs {
		head = append(head, "v2 HashRows "+hr.Kernel)
	}
	head = append(head, "v2 RowHasher (library, one row at a time)", "fastest v2 / SHA-256")
	t := Table{Title: "Commitment: row hashing on one core (GB/s of rows, thread CPU time; wall time in brackets)",
		Header: head,
		Note: "A 64-row matrix per row size, one locked thread. v1 leaves: SHA-256(0x00 ‖ domain ‖ u32 row ‖ row); v2 leaves: BLAKE3 keyed by the " +
			"matrix domain, 1 KiB chunks hashed 16 (AVX-512) or 8 (AVX2) lanes at a time across rows, or in Go (the CGO_ENABLED=0 / purego " +
			"verifier). Each lane kernel runs in its own child process (GODEBUG=cpu.avx512f=off, cpu.avx2=off), one after the other in this run; " +
			"SHA-256 and the library are from the first. GB/s divide by the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which other jobs on the machine inflate " +
			"less than wall time.",
		Command: "bench --out DIR (commitment); go test -run '^$' -bench Leaf -cpu 1 ./commit/"}
	cell := func(hr hashRun, what string, i int) (string, float64) {
		c, w := hr.Rates[what+" cpu"], hr.Rates[what+" wall"]
		mw, _, _ := stats(w[i])
		if i < len(c) && len(c[i]) > 0 {
			mc, _, _ := stats(c[i])
			return fmt.Sprintf("%.2f (%.2f)", mc, mw), mc
		}
		return fmt.Sprintf("(%.2f)", mw), mw
	}
	for i, n := range rowSizes {
		x := float64(n)
		sha, msha := cell(runs[0], "sha256", i)
		r.add("row hashing v1 sha256", "GB/s", "row bytes", x, pickRates(runs[0], "sha256", i))
		row := []string{fmt.Sprint(n), sha}
		best := 0.0
		for _, hr := range runs {
			c, m := cell(hr, "blake3", i)
			row = append(row, c)
			best = max(best, m)
			r.add("row hashing v2 blake3 "+hr.Kernel, "GB/s", "row bytes", x, pickRates(hr, "blake3", i))
		}
		lib, _ := cell(runs[0], "library", i)
		row = append(row, lib, fmt.Sprintf("%.1f×", best/msha))
		t.Rows = append(t.Rows, row)
	}
	r.Tables = append(r.Tables, t)
	return nil
}

// pickRates returns the CPU-time rates when measured, else the wall ones.
func pickRates(hr hashRun, what string, i int) []float64 {
	if c := hr.Rates[what+" cpu"]; i < len(c) && len(c[i]) > 0 {
		return c[i]
	}
	return hr.Rates[what+" wall"][i]
}
