// Command prover is the miner's tool: it trains the quantized MLP on
// Fashion-MNIST or runs matmul work units on a backend, and writes a signed
// proof bundle for every step.
//
// Usage:
//
//	prover keygen --out KEY
//	prover train --steps N --out DIR [--force] [--seed S] [--batch B] [--layers 256,128] [--samples s] [--key KEY] [--data DIR] [--full] [--json]
//	             [--mode fiat-shamir|beacon --beacon-dir DIR [--beacon-timeout D]]
//	prover matmul --n N [--seed S] [--samples s] [--key KEY] [--full] --out FILE
//	prover setup ... | prover ceremony ...   (succinct keys; prover -h)
//
// train writes OUT/task.id (the task id in hex, which verifier verify --task
// takes) and a bundle per step, OUT/step-NNNNNN.tpb. OUT must be new or
// hold no files but a key made beforehand (OUT/miner.key) and directories:
// two runs in one directory would be checked as one chain. --force replaces
// an earlier run's bundles and task.id. In beacon mode the rows
// are sampled with a nonce issued after the step is committed: for every
// step the prover publishes DIR/step-NNNNNN.commitment and waits for
// DIR/step-NNNNNN.nonce (verifier beacon issues them for local use).
//
// Every flag is checked, and a flag that would be ignored (--pk without
// --succinct, --beacon-dir without --mode beacon) or a stray argument is a
// usage error. --batch is at most the training set's size. On a terminal
// progress is a bar with an ETA; otherwise a line every 10 s or every tenth
// of the run.
//
// The key file (keygen, or OUT/miner.key made on first use) carries a
// checksum and its public key, so a damaged key is refused rather than
// read as another identity; v1 key files, without them, are still read.
//
// Exit codes: 0 success (-h and --help too), 1 the work failed, 2 a usage
// error (bad flag or value, stray argument) or an I/O error.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/consensys/gnark/logger"

	"github.com/seed46f70faa/trainproof/cgo/cuda"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/prover"
)

const name = "prover"

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  prover keygen --out KEY
  prover train --steps N --out DIR [--force] [--seed S] [--batch B] [--layers 256,128] [--samples s] [--key KEY] [--data DIR] [--full] [--json]
               [--lr-decay-every K] [--lr-max-shift S] [--backend cpu|emu|cuda|auto] [--succinct --pk PK]
               [--mode fiat-shamir|beacon --beacon-dir DIR [--beacon-timeout D]]
  prover matmul --n N [--seed S] [--samples s] [--key KEY] [--full | --succinct --pk PK] [--backend B] [--json] --out FILE
  prover setup --n N --samples s --out DIR      (development Groth16 keys for succinct matmul units)
  prover setup --train [--layers 256,128] [--batch B] [--samples s] [--lr-decay-every K] [--lr-max-shift S] --out DIR
                                                (development Groth16 keys for succinct training steps)
  prover ceremony init --n N --samples s --dir DIR | init --train [model flags as setup] --samples s --dir DIR
                  | contribute --dir DIR | verify --dir DIR [--vk VK] | seal --dir DIR --beacon HEX [--beacon-source S]
                  | finalize --dir DIR --beacon HEX [--beacon-source S] --out KEYS     (multi-party Groth16 setup)

prover COMMAND -h lists a command's flags. Exit codes: 0 success (and -h), 1 the work failed,
2 a usage error (bad flag, bad value, stray argument) or an I/O error.
`)
}

func main() {
	logger.Disable() // gnark logs to stdout by default; our output is ours
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run is the whole command; every subcommand returns an error, and this is
// the one place that prints it and turns it into the exit code.
func run(ctx context.Context, args []string) int {
	return cli.Report(os.Stderr, name, dispatch(ctx, args))
}

func dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		usage()
		return cli.Usagef("no command given")
	}
	switch args[0] {
	case "keygen":
		return keygenCmd(args[1:])
	case "train":
		return trainCmd(ctx, args[1:])
	case "matmul":
		return matmulCmd(ctx, args[1:])
	case "setup":
		return setupCmd(args[1:])
	case "ceremony":
		return ceremonyCmd(args[1:])
	case "-h", "-help", "--help", "help":
		usage()
		return nil
	}
	return cli.WithHint(cli.Usagef("unknown command %q", args[0]), "prover -h lists the commands")
}

// newFlags is a subcommand's flag set: errors are returned, not fatal, and
// -h prints its flags to stderr.
func newFlags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet("prover "+cmd, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// setFlags names the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// onlyWith refuses the flags among names that were given without cond
// (such as --pk without --succinct): a flag that would be ignored is an error.
func onlyWith(set map[string]bool, cond string, names ...string) error {
	for _, n := range names {
		if set[n] {
			return cli.Usagef("--%s is only meaningful with %s", n, cond)
		}
	}
	return nil
}

// loadKey reads --key, or makes a fresh key in dir when none is given.
func loadKey(path, dir string) (ed25519.PrivateKey, error) {
	if path == "" {
		path = filepath.Join(dir, "miner.key")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if _, err := prover.GenerateKey(path); err != nil {
				return nil, err
			}
		}
	}
	key, legacy, err := prover.ReadKeyFile(path)
	if err != nil {
		return nil, cli.Usage(err)
	}
	if legacy {
		fmt.Fprintf(os.Stderr, "%s: warning: %s is a v1 key file, without a checksum; a damaged one is not detected (prover keygen writes v2)\n", name, path)
	}
	return key, nil
}

// cudaBackend wraps a CUDA device. With TRAINPROOF_GPU_GEMM=sm90 on an
// sm_90 card (H100, H200) products run on the Hopper GEMM (wgmma, bulk
// tensor copies, kernels/gemm_sm90.cu); it is opt-in until a device check
// has run it bit for bit against the CPU (scripts/gpu-check.sh does).
func cudaBackend(dev gpu.Device) (matmul.Backend, error) {
	g := gpu.New(dev, "cuda")
	if os.Getenv("TRAINPROOF_GPU_GEMM") != "sm90" {
		return g, nil
	}
	a, ok := dev.(interface {
		Arch() (major, minor, sms int)
	})
	if !ok {
		return nil, cli.Usagef("TRAINPROOF_GPU_GEMM=sm90: the device does not report its architecture")
	}
	major, minor, sms := a.Arch()
	if major != 9 {
		return nil, cli.Usagef("TRAINPROOF_GPU_GEMM=sm90 needs an sm_90 device, this one is sm_%d%d", major, minor)
	}
	if err := g.UseHopperGEMM(sms); err != nil {
		return nil, cli.Usage(err)
	}
	fmt.Fprintf(os.Stderr, "prover: cuda: Hopper GEMM (gemm_s8_sm90) on %d SMs\n", sms)
	return g, nil
}

// backend returns the named matmul backend: cpu, emu (the CUDA kernels in
// the SIMT emulator; needs cgo), cuda (builds with the cuda tag) or auto.
// auto says on stderr which one it picked, and why.
func backend(name string) (matmul.Backend, error) {
	switch name {
	case "auto":
		dev, err := cuda.Open(0)
		if err == nil {
			fmt.Fprintf(os.Stderr, "prover: backend auto: cuda (device 0)\n")
			return cudaBackend(dev)
		}
		fmt.Fprintf(os.Stderr, "prover: backend auto: cpu (no CUDA device: %v)\n", err)
		return matmul.NewCPU(), nil
	case "cpu":
		return matmul.NewCPU(), nil
	case "cuda":
		dev, err := cuda.Open(0)
		if err != nil {
			return nil, cli.Usage(err)
		}
		return cudaBackend(dev)
	case "emu":
		be, err := emuBackend()
		if err != nil {
			return nil, cli.Usage(err)
		}
		return be, nil
	}
	return nil, cli.Usagef("--backend %q: want cpu, emu, cuda or auto", name)
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

func joinInts(a []int) string {
	s := make([]string, len(a))
	for i, x := range a {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// succinctFlags checks the flags around --succinct: it needs --pk (made
// by setup), --pk needs it, and it writes no full-data bundle or JSON summary.
func succinctFlags(set map[string]bool, succinct bool, pk, setup string) error {
	if !succinct {
		return onlyWith(set, "--succinct", "pk")
	}
	if pk == "" {
		return cli.Usagef("--succinct needs --pk (make keys with %s)", setup)
	}
	for _, f := range []string{"full", "json"} {
		if set[f] {
			return cli.Usagef("--%s is not available with --succinct", f)
		}
	}
	return nil
}
