// Command ovh measures, back to back: oneDNN's bare GEMM, our bare GEMM,
// our fused GEMM+hash, and the whole `prover matmul` process.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/matmul/onednn"
	"github.com/seed46f70faa/trainproof/tensor"
)

var threadCPU bool

func now() float64 {
	if threadCPU {
		var ts syscall.Timespec
		syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0)
		return float64(ts.Nano()) / 1e9
	}
	return float64(time.Now().UnixNano()) / 1e9
}

func rus() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// minCPU returns the least process CPU time (all threads) of f.
func minCPU(reps int, f func()) float64 {
	best := 1e9
	for i := 0; i < reps; i++ {
		t := rus()
		f()
		if s := rus() - t; s < best {
			best = s
		}
	}
	return best
}

func minOf(reps int, f func()) float64 {
	best := 1e9
	for i := 0; i < reps; i++ {
		t := now()
		f()
		if s := now() - t; s < best {
			best = s
		}
	}
	return best
}

func main() {
	ns := flag.String("n", "1024,2048,4096,8192", "sizes")
	reps := flag.Int("reps", 3, "repetitions")
	prover := flag.String("prover", "/work/main/bin/prover", "binary")
	cores := flag.Int("cores", 2, "threads (1: thread CPU time, single core)")
	flag.Parse()
	onednn.SetThreads(*cores)
	if *cores == 1 {
		runtime.LockOSThread()
		threadCPU = true
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("# %s load %s", time.Now().UTC().Format(time.RFC3339), load)
	fmt.Printf("%6s %9s %9s %9s %9s %9s %9s %7s %7s  %s\n", "n", "onednn", "bare", "fused", "in-proc", "proc", "user+sys", "ovh%", "/dnnl", "breakdown(min-wall run)")
	for _, f := range strings.Split(*ns, ",") {
		n, _ := strconv.Atoi(f)
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		x, y, z := randInt8(rng, n, n), randInt8(rng, n, n), tensor.NewInt32(n, n)
		onednn.GEMM(x, y, z)
		tD := minOf(*reps, func() { onednn.GEMM(x, y, z) })
		cD := minCPU(*reps, func() { onednn.GEMM(x, y, z) })
		cpu := matmul.NewCPU()
		cpu.SetWorkers(*cores)
		ps := []matmul.Product{{A: cpu.WrapInt8(x), B: cpu.WrapInt8(y), C: cpu.WrapInt32(z)}}
		cpu.MatMul(context.Background(), ps)
		tB := minOf(*reps, func() { cpu.MatMul(context.Background(), ps) })
		cB := minCPU(*reps, func() { cpu.MatMul(context.Background(), ps) })
		leaves := make([][32]byte, n)
		ps[0].RowHashes = leaves
		tF := minOf(*reps, func() { cpu.MatMul(context.Background(), ps) })
		bestP, bestIn, bestCPU, minProcCPU := 1e9, 1e9, 0.0, 1e9
		var bestBD string
		for i := 0; i < *reps; i++ {
			cmd := exec.Command(*prover, "matmul", "--n", f, "--json", "--out", "/tmp/pm/b.tpb")
			cmd.Stderr = os.Stderr
			t := time.Now()
			out, err := cmd.Output()
			w := time.Since(t).Seconds()
			if err != nil {
				panic(err)
			}
			var bd map[string]any
			json.Unmarshal(out, &bd)
			if c := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(); c < minProcCPU {
				minProcCPU = c
			}
			if w < bestP {
				bestP, bestBD = w, strings.TrimSpace(string(out))
				bestCPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
			}
			if v, ok := bd["total_seconds"].(float64); ok && v < bestIn {
				bestIn = v
			}
		}
		fmt.Printf("%6d %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %7.1f %7.2f  %s\n", n, tD, tB, tF, bestIn, bestP, bestCPU, 100*(bestIn-tB)/tB, bestP/tD, bestBD)
		fmt.Printf("   cpu-s: onednn %.4f bare %.4f process %.4f (min) => process/onednn %.2f, (process-bare)/bare %.1f%%\n", cD, cB, minProcCPU, minProcCPU/cD, 100*(minProcCPU-cB)/cB)
	}
	load, _ = os.ReadFile("/proc/loadavg")
	fmt.Printf("# end load %s", load)
}

func randInt8(rng *rand.Rand, r, c int) *tensor.Int8 {
	m := tensor.NewInt8(r, c)
	for i := range m.Data {
		m.Data[i] = int8(rng.Uint32())
	}
	return m
}
