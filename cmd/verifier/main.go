// Command verifier checks trainproof proof bundles. It is pure Go and needs
// no GPU.
//
// Usage:
//
//	verifier verify [--mode auto|full|sampled] [--json] [--key PUB]... [--task ID] [--nonce HEX] [--max-bytes N] PATH...
//	verifier verify --mode succinct --vk FILE [--data-root HEX] [--nonce HEX] [--json] [--key PUB]... [--task ID] PATH...
//	verifier inspect FILE
//
// Succinct bundles (.tps) are checked against a verifying key from prover
// setup: matmul.vk for matmul units, step.vk for training steps, which must
// also chain.
//
// PATH is a bundle or a directory of bundles; the training steps of one task
// are checked as a chain (each step extends the previous one). Exit codes: 0
// every bundle accepted, 1 any rejected (the reasons on stderr), 2 usage or
// I/O error.
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
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/logger"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
	"github.com/seed46f70faa/trainproof/verifier"
)

const name = "verifier"

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  verifier verify [--mode auto|full|sampled] [--json] [--key PUB]... [--task ID] [--nonce HEX] [--max-bytes N] PATH...
  verifier verify --mode succinct --vk FILE [--data-root HEX] [--nonce HEX] [--json] [--key PUB]... [--task ID] PATH...
  verifier inspect FILE
`)
	os.Exit(2)
}

func main() {
	logger.Disable() // gnark logs to stdout by default; our output is ours
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "verify":
		os.Exit(verify(os.Args[2:]))
	case "inspect":
		inspect(os.Args[2:])
	default:
		usage()
	}
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

func hexKey(s string) ([]byte, error) {
	if b, err := os.ReadFile(s); err == nil {
		s = strings.TrimSpace(string(b))
	}
	k, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%q is neither a hex value nor a file holding one", s)
	}
	return k, nil
}

func verify(args []string) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	mode := fs.String("mode", "auto", "auto|full|sampled|succinct")
	vkPath := fs.String("vk", "", "succinct mode: the verifying key from prover setup")
	asJSON := fs.Bool("json", false, "print the results as JSON on stdout")
	var keys multi
	fs.Var(&keys, "key", "allowed signer (hex or a .pub file); repeatable; default any")
	task := fs.String("task", "", "accept only this task id (hex)")
	nonce := fs.String("nonce", "", "beacon-mode tasks: the nonce issued for every step (hex, 32 bytes)")
	maxBytes := fs.Int("max-bytes", bundle.MaxSize, "largest bundle accepted")
	dataRoot := fs.String("data-root", "", "succinct training steps: the data set's Poseidon2 root (hex; default: Fashion-MNIST's for tasks over it)")
	if err := fs.Parse(args); err != nil {
		return 2
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
		fmt.Fprintf(os.Stderr, "%s: error: --mode %q: want auto, full, sampled or succinct\n", name, *mode)
		return 2
	}
	for _, k := range keys {
		b, err := hexKey(k)
		if err != nil || len(b) != ed25519.PublicKeySize {
			fmt.Fprintf(os.Stderr, "%s: error: --key: not an ed25519 public key: %v\n", name, k)
			return 2
		}
		opt.Keys = append(opt.Keys, ed25519.PublicKey(b))
	}
	if *task != "" {
		b, err := hex.DecodeString(*task)
		if err != nil || len(b) != 32 {
			fmt.Fprintf(os.Stderr, "%s: error: --task: want 64 hex digits\n", name)
			return 2
		}
		var id commit.Hash
		copy(id[:], b)
		opt.TaskID = &id
	}
	var issued *[32]byte
	if *nonce != "" {
		b, err := hex.DecodeString(*nonce)
		if err != nil || len(b) != 32 {
			fmt.Fprintf(os.Stderr, "%s: error: --nonce: want 64 hex digits\n", name)
			return 2
		}
		var n [32]byte
		copy(n[:], b)
		issued = &n
		opt.Nonce = func(commit.Hash, uint64) ([32]byte, bool) { return n, true }
	}
	if *mode == "succinct" {
		return verifySuccinct(*vkPath, *asJSON, opt, *dataRoot, issued, fs.Args())
	}
	paths, err := expand(fs.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", name, err)
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintf(os.Stderr, "%s: error: no bundles given\n", name)
		return 2
	}
	type item struct {
		path string
		b    *bundle.Bundle
		n    int
	}
	var items []item
	var results []result
	code := 0
	for _, p := range paths {
		b, n, err := bundle.ReadFile(p, *maxBytes)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				fmt.Fprintf(os.Stderr, "%s: error: %v\n", name, err)
				return 2
			}
			results = append(results, result{Path: p, Error: err.Error(), Bytes: n})
			code = 1
			continue
		}
		items = append(items, item{p, b, n})
	}
	// Training steps of a task form a chain; check them in step order.
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].b, items[j].b
		ia, ib := a.Task.ID(), b.Task.ID()
		if c := strings.Compare(string(ia[:]), string(ib[:])); c != 0 {
			return c < 0
		}
		return a.Step < b.Step
	})
	chains := map[commit.Hash]*verifier.Chain{}
	seen := map[commit.Hash]bool{}
	for _, it := range items {
		t0 := time.Now()
		res, err := verifier.Verify(it.b, opt)
		r := result{Path: it.path, Bytes: it.n, Step: it.b.Step, Work: it.b.Task.Work.String()}
		if err == nil {
			if res.Work == protocol.WorkTrain {
				c := chains[res.TaskID]
				if c == nil {
					c = verifier.NewChain()
					chains[res.TaskID] = c
				}
				err = c.Add(res)
			} else if seen[res.StepRoot] {
				err = fmt.Errorf("%w: work unit %x was already accepted", verifier.ErrReplay, res.StepRoot[:8])
			}
		}
		r.Seconds = time.Since(t0).Seconds()
		if err != nil {
			r.Error = err.Error()
			code = 1
		} else {
			seen[res.StepRoot] = true
			r.Accepted, r.Mode, r.Rows = true, res.Mode.String(), res.Rows
			r.TaskID, r.StepRoot = hex.EncodeToString(res.TaskID[:]), hex.EncodeToString(res.StepRoot[:])
		}
		results = append(results, r)
	}
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
		json.NewEncoder(os.Stdout).Encode(map[string]any{"accepted": accepted, "rejected": len(results) - accepted, "results": results})
		return code
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "bundles\t%d accepted, %d rejected\n", accepted, len(results)-accepted)
	fmt.Fprintf(w, "bytes\t%.1f MiB\n", float64(total)/(1<<20))
	fmt.Fprintf(w, "verify time\t%.3f s (%.2f ms per bundle)\n", secs, 1000*secs/float64(max(1, len(results))))
	for id, c := range chains {
		fmt.Fprintf(w, "chain\ttask %x…: steps 0..%d linked\n", id[:8], int64(c.Next())-1)
	}
	w.Flush()
	return code
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

func inspect(args []string) {
	if len(args) != 1 {
		usage()
	}
	if head, err := readHead(args[0], 4); err == nil && string(head) == snark.SuccinctMagic {
		inspectSuccinct(args[0])
		return
	}
	b, n, err := bundle.ReadFile(args[0], 0)
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	s := b.Summary()
	s.Bytes = n
	e := json.NewEncoder(os.Stdout)
	e.SetIndent("", "  ")
	e.Encode(s)
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
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
func inspectSuccinct(path string) {
	in, err := os.ReadFile(path)
	if err != nil {
		cli.Fatalf(name, 2, "%v", err)
	}
	s, err := snark.DecodeSuccinct(in)
	if err != nil {
		cli.Fatalf(name, 1, "%v", err)
	}
	id := s.Task.ID()
	roots := make([]string, len(s.Roots))
	for i := range s.Roots {
		b := s.Roots[i].Bytes()
		roots[i] = hex.EncodeToString(b[:])
	}
	e := json.NewEncoder(os.Stdout)
	e.SetIndent("", "  ")
	e.Encode(map[string]any{
		"format": "succinct", "work": s.Task.Work.String(), "mode": s.Task.Mode.String(), "task_id": hex.EncodeToString(id[:]),
		"step": s.Step, "samples": s.Task.Samples, "roots": roots, "proof_bytes": len(s.Proof),
		"signer": hex.EncodeToString(s.PublicKey), "bytes": len(in),
	})
}

// verifySuccinct checks succinct bundles against a verifying key: matmul
// units (matmul.vk) or training steps (step.vk), which must also chain.
func verifySuccinct(vkPath string, asJSON bool, opt verifier.Options, dataRootHex string, nonce *[32]byte, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "%s: error: "+format+"\n", append([]any{name}, a...)...)
		return 2
	}
	if vkPath == "" {
		return fail("--mode succinct needs --vk FILE")
	}
	vkb, err := os.ReadFile(vkPath)
	if err != nil {
		return fail("%v", err)
	}
	// The envelope's magic says which circuit the key is for.
	var verifyOne func(s *snark.Succinct) (*snark.StepStatement, error)
	work := "matmul"
	if len(vkb) >= 4 && string(vkb[:4]) == "TSVK" {
		work = "train"
		shape, vk, err := snark.ParseStepVK(vkb)
		if err != nil {
			return fail("%v", err)
		}
		var given *fr.Element
		if dataRootHex != "" {
			b, err := hex.DecodeString(dataRootHex)
			var e fr.Element
			if err != nil || len(b) != 32 || e.SetBytesCanonical(b) != nil {
				return fail("--data-root: want 64 hex digits of a BN254 field element")
			}
			given = &e
		}
		verifyOne = func(s *snark.Succinct) (*snark.StepStatement, error) {
			root := given
			if root == nil {
				if s.Task.Work != protocol.WorkTrain || s.Task.DatasetRoot != verifier.FashionMNISTRoot {
					return nil, fmt.Errorf("%w: the task's data set is not Fashion-MNIST; pass its Poseidon2 root with --data-root", snark.ErrProof)
				}
				r := snark.FashionMNISTRoot()
				root = &r
			}
			var n *[32]byte
			if s.Task.Mode == protocol.ModeBeacon {
				if nonce == nil {
					return nil, fmt.Errorf("%w: a beacon task: pass the nonce issued for its steps with --nonce", snark.ErrProof)
				}
				n = nonce
			}
			return snark.VerifyStep(s, shape, vk, *root, n)
		}
	} else {
		shape, vk, err := snark.ParseVK(vkb)
		if err != nil {
			return fail("%v", err)
		}
		verifyOne = func(s *snark.Succinct) (*snark.StepStatement, error) { return nil, snark.VerifyMatMul(s, shape, vk) }
	}
	paths, err := expandAll(args, "*.tps")
	if err != nil || len(paths) == 0 {
		return fail("no succinct bundles given (%v)", err)
	}
	type item struct {
		r  result
		s  *snark.Succinct
		st *snark.StepStatement
	}
	var items []*item
	for _, p := range paths {
		in, err := os.ReadFile(p)
		if err != nil {
			return fail("%v", err)
		}
		t0 := time.Now()
		it := &item{r: result{Path: p, Bytes: len(in), Work: work, Mode: "succinct"}}
		it.s, err = snark.DecodeSuccinct(in)
		if err == nil {
			it.r.Step = it.s.Step
			id := it.s.Task.ID()
			it.r.TaskID = hex.EncodeToString(id[:])
			switch {
			case opt.TaskID != nil && id != *opt.TaskID:
				err = fmt.Errorf("%w: task %x is not the one asked for", snark.ErrProof, id[:8])
			case len(opt.Keys) > 0 && !slices.ContainsFunc(opt.Keys, func(k ed25519.PublicKey) bool { return k.Equal(it.s.PublicKey) }):
				err = fmt.Errorf("%w: signed by a key not allowed", snark.ErrProof)
			default:
				it.st, err = verifyOne(it.s)
			}
		}
		it.r.Seconds = time.Since(t0).Seconds()
		if err != nil {
			it.r.Error = err.Error()
		}
		items = append(items, it)
	}
	// Training steps chain per task, in step order.
	if work == "train" {
		sort.SliceStable(items, func(i, j int) bool {
			if items[i].r.TaskID != items[j].r.TaskID {
				return items[i].r.TaskID < items[j].r.TaskID
			}
			return items[i].r.Step < items[j].r.Step
		})
		chains := map[string]*snark.StepChain{}
		for _, it := range items {
			if it.r.Error != "" {
				continue
			}
			c := chains[it.r.TaskID]
			if c == nil {
				c = &snark.StepChain{}
				chains[it.r.TaskID] = c
			}
			if err := c.Add(it.s.Task, it.st); err != nil {
				it.r.Error = err.Error()
			}
		}
	}
	code := 0
	var results []result
	for _, it := range items {
		it.r.Accepted = it.r.Error == ""
		if !it.r.Accepted {
			code = 1
			fmt.Fprintf(os.Stderr, "%s: rejected %s: %s\n", name, it.r.Path, it.r.Error)
		}
		results = append(results, it.r)
	}
	if asJSON {
		json.NewEncoder(os.Stdout).Encode(map[string]any{"results": results})
		return code
	}
	for _, r := range results {
		status := "accepted"
		if !r.Accepted {
			status = "rejected"
		}
		fmt.Printf("%s\t%s\t%d bytes\t%.2f ms\n", r.Path, status, r.Bytes, 1000*r.Seconds)
	}
	return code
}
