package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/snark"
)

// matmulBreakdown is `prover matmul --json`: every stage the prover adds to
// the product, timed on its own. On the cpu backend the operands are
// generated inside the product (prover.MatMulFused), so derive_seconds is 0
// and their cost is in gemm_hash_seconds, shown as derive_cpu_seconds
// (summed over cores, like hash_cpu_seconds).
type matmulBreakdown struct {
	N                int     `json:"n"`
	Backend          string  `json:"backend"`
	Variant          string  `json:"variant"`
	Fused            bool    `json:"fused"`              // A and B generated inside the product
	KeySeconds       float64 `json:"key_seconds"`        // reading (or making) the miner key, before the total
	DeriveSeconds    float64 `json:"derive_seconds"`     // A and B from the seed, before the product
	GEMMHashSeconds  float64 `json:"gemm_hash_seconds"`  // C = A·B with the row leaves hashed in the epilogue
	DeriveCPUSeconds float64 `json:"derive_cpu_seconds"` // in it: generating A and B's rows, all cores
	HashCPUSeconds   float64 `json:"hash_cpu_seconds"`   // in it: hashing C's rows, all cores
	GOPS             float64 `json:"gops"`
	TreeSeconds      float64 `json:"tree_seconds"`      // Merkle trees, step root, challenges
	OpenSignSeconds  float64 `json:"open_sign_seconds"` // openings, encoding, signature
	WriteSeconds     float64 `json:"write_seconds"`
	ReleaseSeconds   float64 `json:"release_seconds"` // freeing the step
	TotalSeconds     float64 `json:"total_seconds"`   // from the operands to the release
	BundleBytes      int     `json:"bundle_bytes"`
	Out              string  `json:"out"`
}

func matmulCmd(ctx context.Context, args []string) error {
	fs := newFlags("matmul")
	n := fs.Int("n", 1024, "matrix size: C = A·B with A, B n×n")
	seed := fs.Uint64("seed", 1, "seed of A and B")
	samples := fs.Int("samples", 280, "rows sampled per row group (280: the soundness analysis in docs/SOUNDNESS.md picks it for matmul units)")
	keyPath := fs.String("key", "", "miner key (default: miner.key beside FILE, made if missing)")
	full := fs.Bool("full", false, "write a full-data bundle")
	succinct := fs.Bool("succinct", false, "write a succinct (Groth16) bundle; needs --pk")
	pkPath := fs.String("pk", "", "proving key from prover setup (with --succinct)")
	out := fs.String("out", "", "bundle file")
	be := fs.String("backend", "cpu", "matmul backend: cpu|emu|cuda|auto (auto: cuda if a device opens, else cpu; says which on stderr)")
	asJSON := fs.Bool("json", false, "print a JSON breakdown of where the time went")
	if err := cli.Parse(fs, args, false); err != nil {
		return err
	}
	set := setFlags(fs)
	if *out == "" {
		return cli.Usagef("matmul needs --out FILE")
	}
	if err := errors.Join(cli.Range("n", *n, 1, protocol.MaxDim), cli.Range("samples", *samples, 1, protocol.MaxSamples)); err != nil {
		return cli.Usage(err)
	}
	if err := succinctFlags(set, *succinct, *pkPath, "prover setup"); err != nil {
		return err
	}
	task := protocol.Task{Work: protocol.WorkMatMul, Mode: protocol.ModeFiatShamir, Samples: uint32(*samples),
		MatMul: protocol.MatMulSpec{M: uint32(*n), K: uint32(*n), N: uint32(*n), Seed: *seed}}
	if err := task.Validate(); err != nil {
		return cli.Usage(err)
	}
	// Every stage is timed on its own: the breakdown is what the prover adds
	// to the bare GEMM.
	var bd matmulBreakdown
	lap := func(dst *float64) func() {
		t := time.Now()
		return func() { *dst = time.Since(t).Seconds() }
	}
	done := lap(&bd.KeySeconds)
	key, err := loadKey(*keyPath, filepath.Dir(*out))
	if err != nil {
		return err
	}
	done()
	bk, err := backend(*be)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var st *prover.Step
	if cpu, ok := bk.(*matmul.CPU); ok && !*succinct {
		// A and B are generated where the GEMM packs them, never stored.
		var tm matmul.Timing
		done = lap(&bd.GEMMHashSeconds)
		if st, err = prover.MatMulFused(ctx, cpu, task, &tm); err != nil {
			return err
		}
		done()
		bd.Fused, bd.DeriveCPUSeconds, bd.HashCPUSeconds = true, tm.Operands().Seconds(), tm.Hash().Seconds()
	} else {
		done = lap(&bd.DeriveSeconds)
		a, b, err := prover.MatMulOperands(task)
		if err != nil {
			return err
		}
		done()
		done = lap(&bd.GEMMHashSeconds)
		if st, err = prover.MatMulOn(ctx, bk, task, a, b); err != nil {
			return err
		}
		done()
	}
	if *succinct {
		defer st.Release()
		return succinctMatMul(task, st, *pkPath, key, *out, time.Since(t0))
	}
	done = lap(&bd.TreeSeconds)
	pd, err := prover.Commit(ctx, st, key.Public().(ed25519.PublicKey))
	if err != nil {
		st.Release()
		return err
	}
	done()
	variant := bundle.Sampled
	if *full {
		variant = bundle.Full
	}
	done = lap(&bd.OpenSignSeconds)
	_, enc, err := pd.Finish(variant, [32]byte{}, key)
	if err != nil {
		pd.Release()
		return err
	}
	done()
	done = lap(&bd.WriteSeconds)
	if err := os.WriteFile(*out, enc, 0o644); err != nil {
		pd.Release()
		return err
	}
	done()
	done = lap(&bd.ReleaseSeconds)
	pd.Release()
	done()
	bd.TotalSeconds = time.Since(t0).Seconds()
	bd.N, bd.Backend, bd.Variant, bd.BundleBytes, bd.Out = *n, bk.Name(), variant.String(), len(enc), *out
	bd.GOPS = 2 * float64(*n) * float64(*n) * float64(*n) / bd.GEMMHashSeconds / 1e9
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(bd)
	}
	derive := fmt.Sprintf("derive %.3f s, GEMM + row hashes %.3f s", bd.DeriveSeconds, bd.GEMMHashSeconds)
	if bd.Fused {
		derive = fmt.Sprintf("GEMM + derive + row hashes %.3f s (derive %.3f, hash %.3f core-s)", bd.GEMMHashSeconds, bd.DeriveCPUSeconds, bd.HashCPUSeconds)
	}
	fmt.Printf("matmul n=%d: %s (%.1f GOPS), trees %.3f s, open + encode + sign %.3f s, write %.3f s; bundle %s (%s) -> %s\n",
		*n, derive, bd.GOPS, bd.TreeSeconds, bd.OpenSignSeconds, bd.WriteSeconds, cli.Bytes(int64(len(enc))), variant, *out)
	return nil
}

func succinctMatMul(task protocol.Task, st *prover.Step, pkPath string, key ed25519.PrivateKey, out string, compute time.Duration) error {
	k, err := snark.LoadProver(pkPath)
	if err != nil {
		return cli.Usage(fmt.Errorf("--pk: %w", err))
	}
	plan, err := protocol.NewPlan(task)
	if err != nil {
		return cli.Usage(err)
	}
	c := st.Matrices[plan.MatC].I32
	if c == nil {
		return cli.Usagef("--succinct runs on the cpu backend")
	}
	t0 := time.Now()
	enc, err := snark.ProveMatMul(k, task, st.Matrices[plan.MatA].I8, st.Matrices[plan.MatB].I8, c, key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, enc, 0o644); err != nil {
		return err
	}
	fmt.Printf("matmul %dx%dx%d: compute %.3f s, Groth16 prove %.3f s, succinct bundle %s -> %s\n",
		task.MatMul.M, task.MatMul.K, task.MatMul.N, compute.Seconds(), time.Since(t0).Seconds(), cli.Bytes(int64(len(enc))), out)
	return nil
}
