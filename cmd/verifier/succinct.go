package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/internal/safefile"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
	"github.com/seed46f70faa/trainproof/verifier"
)

// nonceFor returns the nonce issued for a beacon task's bundle, nil for a
// Fiat–Shamir task.
func nonceFor(s *snark.Succinct, nonces nonceBook) (*[32]byte, error) {
	if s.Task.Mode != protocol.ModeBeacon {
		return nil, nil
	}
	if nonces == nil {
		return nil, fmt.Errorf("%w: a beacon task: pass the nonces issued for its steps with --nonces FILE", verifier.ErrStale)
	}
	is, ok := nonces[s.Step]
	if !ok {
		return nil, fmt.Errorf("%w: step %d is beacon-mode and no nonce was issued for it", verifier.ErrStale, s.Step)
	}
	return &is.nonce, nil
}

// verifySuccinct checks succinct bundles against a verifying key: matmul
// units (matmul.vk) or training steps (step.vk), which must also chain.
//
// A chain starts at step 0 from the task's initial weights, or at cp (its
// weights are the Poseidon2 roots of M′ of step cp.Step−1, as 64 hex digits,
// big-endian; prev is not used by succinct chains).
//
// Development keys (prover setup: whoever made them can forge proofs) are
// refused unless allowDev; ceremony keys carry their transcript hash.
func verifySuccinct(vkPath string, asJSON bool, opt verifier.Options, dataRootHex string, nonces nonceBook, cp *verifier.Checkpoint, allowDev bool, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "%s: error: "+format+"\n", append([]any{name}, a...)...)
		return 2
	}
	if vkPath == "" {
		return fail("--mode succinct needs --vk FILE")
	}
	vkb, err := readBounded(vkPath, snark.MaxVerifyingKey)
	if err != nil {
		return fail("%v", err)
	}
	origin, err := snark.KeyOriginOf(vkb)
	if err != nil {
		return fail("--vk: %v", err)
	}
	if err := origin.Check(allowDev); err != nil {
		fmt.Fprintf(os.Stderr, "%s: error: %v\n", name, err)
		fmt.Fprintf(os.Stderr, "%s: hint: %s is a development key (prover setup): whoever made it can forge proofs; use ceremony keys, or pass --allow-dev-keys for testing\n", name, vkPath)
		return 2
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
				r := snark.FashionMNISTPoseidon2Root()
				root = &r
			}
			n, err := nonceFor(s, nonces)
			if err != nil {
				return nil, err
			}
			return snark.VerifyStep(s, shape, vk, *root, n)
		}
	} else {
		shape, vk, err := snark.ParseVK(vkb)
		if err != nil {
			return fail("%v", err)
		}
		// The matmul circuit binds the operands, C, the miner, the task id
		// (and so its mode) and the beacon's nonce. A product counts once
		// per signer, whatever the proof's bytes (a re-randomised Groth16
		// proof verifies too) and whichever task names it.
		claimed := map[string]string{}
		verifyOne = func(s *snark.Succinct) (*snark.StepStatement, error) {
			n, err := nonceFor(s, nonces)
			if err != nil {
				return nil, err
			}
			if err := snark.VerifyMatMulNonce(s, shape, vk, n); err != nil {
				return nil, err
			}
			key := fmt.Sprintf("%x", s.PublicKey)
			for _, r := range s.Roots {
				key += fmt.Sprintf("/%x", r.Bytes())
			}
			if task, ok := claimed[key]; ok {
				return nil, fmt.Errorf("%w: the same product was already claimed (task %s)", verifier.ErrReplay, task)
			}
			id := s.Task.ID()
			claimed[key] = hex.EncodeToString(id[:8])
			return nil, nil
		}
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
		in, err := readBounded(p, snark.MaxSuccinctBundle)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				return fail("%v", err)
			}
			items = append(items, &item{r: result{Path: p, Work: work, Mode: "succinct", Error: err.Error()}})
			continue
		}
		t0 := time.Now()
		it := &item{r: result{Path: p, Bytes: len(in), Work: work, Mode: "succinct"}}
		it.s, err = snark.DecodeSuccinct(in)
		if err == nil {
			it.r.Step = it.s.Step
			id := it.s.Task.ID()
			it.r.TaskID = hex.EncodeToString(id[:])
			err = taskAllowed(opt, id)
			switch {
			case err != nil:
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
				c = snark.NewStepChain()
				if id := it.s.Task.ID(); cp != nil && cp.TaskID == id {
					w := make([]fr.Element, len(cp.Weights))
					for l := range w {
						w[l].SetBytes(cp.Weights[l][:])
					}
					var err error
					if c, err = snark.NewStepChainFrom(snark.StepCheckpoint{Task: id, Step: cp.Step, Weights: w}); err != nil {
						it.r.Error = err.Error()
						continue
					}
				}
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

// taskAllowed applies the task pinning of opt as verifier.Verify does, for
// the bundles that Verify does not see.
func taskAllowed(opt verifier.Options, id commit.Hash) error {
	switch {
	case opt.TaskID != nil:
		if id != *opt.TaskID {
			return fmt.Errorf("%w: bundle is for task %x, expected %x", verifier.ErrTask, id[:8], opt.TaskID[:8])
		}
	case len(opt.Tasks) > 0:
		if !slices.Contains(opt.Tasks, id) {
			return fmt.Errorf("%w: task %x is not in the allow-list", verifier.ErrTask, id[:8])
		}
	case !opt.AnyTask:
		return verifier.ErrNoTask
	}
	return nil
}

// readBounded reads a regular file of at most limit bytes, refusing a
// larger one before reading it (safefile.ReadFile).
func readBounded(path string, limit int) ([]byte, error) {
	return safefile.ReadFile(path, int64(limit))
}
