// Command verifier checks trainproof proof bundles. It is pure Go and needs
// no GPU.
//
// Usage:
//
//	verifier verify (--task ID... | --any-task) [--mode auto|full|sampled] [--json] [--key PUB]... [--nonces FILE] [--checkpoint FILE] [--max-bytes N] PATH...
//	verifier verify --mode succinct --vk FILE (--task ID... | --any-task) [--data-root HEX] [--nonces FILE] [--checkpoint FILE] [--allow-dev-keys] [--json] [--key PUB]... PATH...
//	verifier beacon --dir DIR --nonces FILE [--steps N] [--timeout D]
//	verifier inspect FILE
//
// verify accepts only the tasks named with --task (hex task ids, as prover
// train writes to OUT/task.id); --any-task accepts whatever task a miner
// names, which only suits inspecting bundles: a miner can invent a task that
// is cheap to fake.
//
// Beacon-mode tasks sample their rows with a nonce issued after the miner
// published the step's commitment. --nonces FILE names the nonces issued,
// one line per step, "STEP NONCE_HEX COMMITMENT_HEX" (# starts a comment);
// a bundle is accepted only if it answers its step's nonce and its
// commitment is the one the nonce was issued for. In succinct mode the
// commitment column may be "-" (the circuit binds the nonce). verifier
// beacon is the issuing side for local use and tests: it watches the
// prover's --beacon-dir and writes such a file.
//
// --checkpoint FILE, {"task_id": HEX, "step": N, "prev": HEX, "weights":
// [HEX, ...]}, starts that task's chain at a step a node already trusts:
// step N must name prev (the root of step N−1) and start from weights (the
// roots of M′ that step N−1 output). verify --json prints such an object for
// every chain it linked. In succinct mode the weights are the Poseidon2 roots
// of M′ (64 hex digits, big-endian) and prev is not used; without a
// checkpoint a succinct chain must start at step 0.
//
// Succinct bundles (.tps) are checked against a verifying key from prover
// setup: matmul.vk for matmul units, step.vk for training steps, which must
// also chain. Auto mode recognises them by their magic (a directory by its
// *.tps files) and verifies them so; it refuses a mix of the two kinds.
//
// PATH is a bundle or a directory of bundles; the training steps of one task
// are checked as a chain (each step extends the previous one). Bundles are
// read one at a time: memory does not grow with their number. Exit codes,
// for every subcommand: 0 every bundle accepted (and -h), 1 any rejected
// (the reasons on stderr), 2 a usage error (bad flag or value, a flag that
// would be ignored, stray argument) or an I/O error.
package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/consensys/gnark/logger"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/internal/safefile"
	"github.com/seed46f70faa/trainproof/snark"
	"github.com/seed46f70faa/trainproof/verifier"
)

const name = "verifier"

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  verifier verify (--task ID... | --any-task) [--mode auto|full|sampled] [--json] [--key PUB]... [--nonces FILE] [--checkpoint FILE] [--max-bytes N] PATH...
  verifier verify --mode succinct --vk FILE (--task ID... | --any-task) [--data-root HEX] [--nonces FILE] [--checkpoint FILE] [--allow-dev-keys] [--json] [--key PUB]... PATH...
  verifier beacon --dir DIR --nonces FILE [--steps N] [--timeout D]
  verifier inspect FILE

verifier COMMAND -h lists a command's flags. Exit codes: 0 every bundle accepted (and -h),
1 a bundle rejected, 2 a usage error (bad flag, bad value, stray argument) or an I/O error.
`)
}

func main() {
	logger.Disable() // gnark logs to stdout by default; our output is ours
	os.Exit(run(os.Args[1:]))
}

// run is the whole command; this is the one place that prints a
// subcommand's error and turns it into the exit code.
func run(args []string) int {
	return cli.Report(os.Stderr, name, dispatch(args))
}

func dispatch(args []string) error {
	if len(args) == 0 {
		usage()
		return cli.Usagef("no command given")
	}
	switch args[0] {
	case "verify":
		return cli.Exit(verify(args[1:]))
	case "beacon":
		return cli.Exit(beaconCmd(args[1:]))
	case "inspect":
		return inspect(args[1:])
	case "-h", "-help", "--help", "help":
		usage()
		return nil
	}
	return cli.WithHint(cli.Usagef("unknown command %q", args[0]), "verifier -h lists the commands")
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

type result struct {
	Path     string  `json:"path"`
	Accepted bool    `json:"accepted"`
	Error    string  `json:"error,omitempty"`
	Work     string  `json:"work,omitempty"`
	Step     uint64  `json:"step"`
	Mode     string  `json:"mode,omitempty"`
	Rows     int     `json:"rows_checked,omitempty"`
	Bytes    int     `json:"bytes"`
	Seconds  float64 `json:"seconds"`
	TaskID   string  `json:"task_id,omitempty"`
	StepRoot string  `json:"step_root,omitempty"`
}

// chainReport is a linked chain in verify --json: the steps first..next−1,
// and the checkpoint to resume after them.
type chainReport struct {
	TaskID     string         `json:"task_id"`
	First      uint64         `json:"first_step"`
	Next       uint64         `json:"next_step"`
	Checkpoint checkpointFile `json:"checkpoint"`
}

func hexKey(s string) ([]byte, error) {
	what := fmt.Sprintf("%q", s)
	if len(s) > 200 {
		what = fmt.Sprintf("a value of %d characters", len(s))
	}
	// A file holds one hex value: read at most 1 KiB of it, so that a huge
	// file costs nothing (and never lands in an error message).
	if b, err := readBounded(s, 1<<10); err == nil {
		s, what = string(b), s
	} else if _, serr := os.Stat(s); serr == nil {
		return nil, fmt.Errorf("%s: %v", s, err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%s is neither a hex value nor a file holding one", what)
	}
	return k, nil
}

// usageErr prints a usage or I/O error and returns its exit code, 2.
func usageErr(format string, a ...any) int {
	return cli.Report(os.Stderr, name, cli.Usagef(format, a...))
}

// pinTasks sets the task options from --task and --any-task: a verifier
// that pays for work must say which task it pays for.
func pinTasks(opt *verifier.Options, tasks []string, anyTask bool) int {
	switch {
	case len(tasks) > 0 && anyTask:
		return usageErr("--task and --any-task exclude each other")
	case len(tasks) == 0 && !anyTask:
		return cli.Report(os.Stderr, name, cli.WithHint(
			cli.Usagef("no task pinned: name the task you accept with --task ID (repeatable), or pass --any-task"),
			"prover train writes the task id to OUT/task.id: --task $(cat OUT/task.id)"))
	case anyTask:
		fmt.Fprintf(os.Stderr, "%s: warning: --any-task accepts any task a miner invents, including one made cheap to fake\n", name)
		opt.AnyTask = true
		return 0
	}
	var ids []commit.Hash
	for _, t := range tasks {
		id, err := hex32(strings.TrimSpace(t))
		if err != nil {
			return usageErr("--task: %v", err)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 1 {
		opt.TaskID = &ids[0]
	} else {
		opt.Tasks = ids
	}
	return 0
}

func verify(args []string) int {
	fs := flag.NewFlagSet("verifier verify", flag.ContinueOnError)
	mode := fs.String("mode", "auto", "auto|full|sampled|succinct")
	vkPath := fs.String("vk", "", "succinct mode: the verifying key from prover setup")
	asJSON := fs.Bool("json", false, "print the results as JSON on stdout")
	var keys, tasks multi
	fs.Var(&keys, "key", "allowed signer (hex or a .pub file); repeatable; default any")
	fs.Var(&tasks, "task", "accept this task id (64 hex digits, as in prover train's OUT/task.id); repeatable")
	anyTask := fs.Bool("any-task", false, "accept any task a miner names (for inspection only: a miner can invent a task that is cheap to fake)")
	noncesPath := fs.String("nonces", "", "beacon-mode tasks: the nonces issued, one line per step: STEP NONCE_HEX COMMITMENT_HEX (verifier beacon writes it)")
	cpPath := fs.String("checkpoint", "", "start the chain of a task at a trusted checkpoint: JSON {task_id, step, prev, weights}")
	maxBytes := fs.Int("max-bytes", bundle.MaxSize, "largest bundle accepted")
	dataRoot := fs.String("data-root", "", "succinct training steps: the data set's Poseidon2 root (hex; default: Fashion-MNIST's for tasks over it)")
	allowDev := fs.Bool("allow-dev-keys", false, "succinct: accept a development verifying key (prover setup; its maker can forge proofs): for tests only")
	if err := cli.Parse(fs, args, true); err != nil {
		return cli.Report(os.Stderr, name, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, a := range fs.Args() {
		if f, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); strings.HasPrefix(a, "-") && fs.Lookup(f) != nil {
			return usageErr("%s after a bundle path: flags go before the paths", a)
		}
	}
	if *maxBytes <= 0 || *maxBytes > bundle.MaxSize {
		return usageErr("--max-bytes %d is out of range: want 1 to %d", *maxBytes, bundle.MaxSize)
	}
	opt := verifier.Options{}
	switch *mode {
	case "auto":
	case "full":
		opt.Mode = verifier.Full
	case "sampled":
		opt.Mode = verifier.Sampled
	case "succinct":
	default:
		return usageErr("--mode %q: want auto, full, sampled or succinct", *mode)
	}
	for _, k := range keys {
		b, err := hexKey(k)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return usageErr("--key: not an ed25519 public key: %v", k)
		}
		opt.Keys = append(opt.Keys, ed25519.PublicKey(b))
	}
	if code := pinTasks(&opt, tasks, *anyTask); code != 0 {
		return code
	}
	var nonces nonceBook
	if *noncesPath != "" {
		var err error
		if nonces, err = readNonces(*noncesPath, *mode == "succinct"); err != nil {
			return usageErr("--nonces: %v", err)
		}
		opt.Nonce = nonces.lookup
	}
	var cp *verifier.Checkpoint
	if *cpPath != "" {
		c, err := readCheckpoint(*cpPath)
		if err != nil {
			return usageErr("--checkpoint: %v", err)
		}
		cp = &c
	}
	if *mode == "auto" {
		succinct, err := succinctArgs(fs.Args())
		if err != nil {
			return cli.Report(os.Stderr, name, err)
		}
		if succinct && *vkPath == "" {
			return cli.Report(os.Stderr, name, cli.WithHint(cli.Usagef("succinct bundles (.tps) need --vk FILE"),
				"pass the verifying key from prover setup or a ceremony: step.vk for training steps, matmul.vk for matmul units"))
		}
		if succinct {
			*mode = "succinct"
		}
	}
	if *mode == "succinct" {
		if set["max-bytes"] {
			return usageErr("--max-bytes is for .tpb bundles (a succinct bundle is bounded by its format)")
		}
	} else {
		for _, f := range []string{"vk", "data-root", "allow-dev-keys"} {
			if set[f] {
				return usageErr("--%s is for succinct bundles (.tps) only", f)
			}
		}
	}
	if *mode == "succinct" {
		return verifySuccinct(*vkPath, *asJSON, opt, *dataRoot, nonces, cp, *allowDev, fs.Args())
	}
	paths, err := expand(fs.Args())
	if err != nil {
		return usageErr("%v", err)
	}
	if len(paths) == 0 {
		if fs.NArg() == 0 {
			return usageErr("no bundles given: name bundle files or directories")
		}
		return usageErr("no bundles (*.tpb or *.tps) in %s", strings.Join(fs.Args(), ", "))
	}

	// The library's policy (verifier.Ledger): headers first, to check the
	// steps of a task in order, then one bundle in memory at a time; only
	// its result is kept.
	var cps []verifier.Checkpoint
	if cp != nil {
		cps = append(cps, *cp)
	}
	ledger := verifier.NewLedger(opt, cps...)
	var results []result
	code := 0
	err = verifier.VerifyFiles(ledger, paths, *maxBytes, func(f verifier.FileResult) {
		r := result{Path: f.Path, Bytes: f.Bytes, Step: f.Step, Seconds: f.Elapsed.Seconds()}
		if f.Work != 0 {
			r.Work = f.Work.String()
		}
		if f.Err != nil {
			r.Error = f.Err.Error()
			code = 1
		} else {
			res := f.Result
			r.Accepted, r.Mode, r.Rows = true, res.Mode.String(), res.Rows
			r.TaskID, r.StepRoot = hex.EncodeToString(res.TaskID[:]), hex.EncodeToString(res.StepRoot[:])
		}
		results = append(results, r)
	})
	if err != nil {
		return usageErr("%v", err)
	}
	chains := ledger.Chains()
	accepted, total, secs := 0, 0, 0.0
	for _, r := range results {
		if !r.Accepted {
			fmt.Fprintf(os.Stderr, "%s: rejected %s: %s\n", name, r.Path, r.Error)
		} else {
			accepted++
		}
		total += r.Bytes
		secs += r.Seconds
	}
	if *asJSON {
		reports := []chainReport{}
		for _, c := range chains {
			if c.Next > c.First {
				reports = append(reports, chainReport{TaskID: hex.EncodeToString(c.TaskID[:]), First: c.First, Next: c.Next, Checkpoint: checkpointJSON(c.Checkpoint)})
			}
		}
		json.NewEncoder(os.Stdout).Encode(map[string]any{"accepted": accepted, "rejected": len(results) - accepted, "results": results, "chains": reports})
		return code
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "bundles\t%d accepted, %d rejected\n", accepted, len(results)-accepted)
	fmt.Fprintf(w, "bytes\t%s\n", cli.Bytes(int64(total)))
	fmt.Fprintf(w, "verify time\t%.3f s (%.2f ms per bundle)\n", secs, 1000*secs/float64(max(1, len(results))))
	for _, c := range chains {
		id := c.TaskID
		switch n := c.Next; {
		case n == c.First+1:
			fmt.Fprintf(w, "chain\ttask %x…: step %d linked\n", id[:8], c.First)
		case n > c.First:
			fmt.Fprintf(w, "chain\ttask %x…: steps %d..%d linked\n", id[:8], c.First, n-1)
		default:
			fmt.Fprintf(w, "chain\ttask %x…: no step linked (the chain expects step %d)\n", id[:8], c.First)
		}
	}
	w.Flush()
	return code
}

// isIOError tells a file that could not be read (exit 2) from one that is
// not a valid bundle (rejected, exit 1).
func isIOError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}

func expand(args []string) ([]string, error) { return expandAll(args, "*.tpb") }

// expandAll lists the files in args, and in the directories among them those matching pattern.
func expandAll(args []string, pattern string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, pattern))
		if err != nil {
			return nil, err
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}

func inspect(args []string) error {
	fs := flag.NewFlagSet("verifier inspect", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: verifier inspect FILE\n\nprints a bundle's summary as JSON (a succinct one's signature is checked, its proof is not)")
	}
	if err := cli.Parse(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return cli.WithHint(cli.Usagef("inspect takes one bundle file, not %d arguments", fs.NArg()), "verifier inspect FILE")
	}
	path := fs.Arg(0)
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return cli.Usagef("%s is not a regular file: inspect reads one bundle file", path)
	}
	if head, err := readHead(path, 4); err == nil && string(head) == snark.SuccinctMagic {
		return inspectSuccinct(path)
	}
	b, n, err := bundle.ReadFile(path, 0)
	if err != nil {
		return err // an I/O error exits 2, a malformed bundle 1
	}
	s := b.Summary()
	s.Bytes = n
	e := json.NewEncoder(os.Stdout)
	e.SetIndent("", "  ")
	return e.Encode(s)
}

// succinctArgs tells whether the bundles named are succinct ones (by their
// magic), so that auto mode verifies them as such. A mix is refused: the two
// kinds are checked with different keys and flags.
func succinctArgs(args []string) (bool, error) {
	var plain, succinct int
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return false, err
		}
		if st.IsDir() {
			tpb, _ := filepath.Glob(filepath.Join(a, "*.tpb"))
			tps, _ := filepath.Glob(filepath.Join(a, "*.tps"))
			plain, succinct = plain+len(tpb), succinct+len(tps)
		} else if head, err := readHead(a, 4); err == nil && string(head) == snark.SuccinctMagic {
			succinct++
		} else {
			plain++ // or unreadable: verify says why
		}
	}
	if plain > 0 && succinct > 0 {
		return false, cli.WithHint(cli.Usagef("%d succinct and %d other bundles given together", succinct, plain),
			"verify them in two runs: the succinct ones (.tps) with --vk, the others without")
	}
	return succinct > 0, nil
}

func readHead(path string, n int) ([]byte, error) {
	f, _, err := safefile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	_, err = io.ReadFull(f, b)
	return b, err
}

// inspectSuccinct prints a succinct bundle's summary (signature checked,
// proof not verified: that needs the verifying key).
func inspectSuccinct(path string) error {
	in, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s, err := snark.DecodeSuccinct(in)
	if err != nil {
		return err
	}
	id := s.Task.ID()
	roots := make([]string, len(s.Roots))
	for i := range s.Roots {
		b := s.Roots[i].Bytes()
		roots[i] = hex.EncodeToString(b[:])
	}
	e := json.NewEncoder(os.Stdout)
	e.SetIndent("", "  ")
	return e.Encode(map[string]any{
		"format": "succinct", "work": s.Task.Work.String(), "mode": s.Task.Mode.String(), "task_id": hex.EncodeToString(id[:]),
		"step": s.Step, "samples": s.Task.Samples, "roots": roots, "proof_bytes": len(s.Proof),
		"signer": hex.EncodeToString(s.PublicKey), "bytes": len(in),
	})
}
