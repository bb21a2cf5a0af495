package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
)

// ceremonyFlags are the flags each ceremony subcommand takes; any other is
// refused rather than ignored.
var ceremonyFlags = map[string][]string{
	"init":       {"dir", "n", "samples", "train", "batch", "layers", "lr-decay-every", "lr-max-shift"},
	"contribute": {"dir"},
	"verify":     {"dir", "vk"},
	"seal":       {"dir", "beacon", "beacon-source"},
	"finalize":   {"dir", "beacon", "beacon-source", "out"},
}

func ceremonyCmd(args []string) error {
	if len(args) == 0 {
		return cli.WithHint(cli.Usagef("ceremony needs a subcommand: init, contribute, verify, seal or finalize"), "prover -h shows how each is called")
	}
	sub := args[0]
	if sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		usage()
		return nil
	}
	allowed, ok := ceremonyFlags[sub]
	if !ok {
		return cli.WithHint(cli.Usagef("unknown ceremony subcommand %q: want init, contribute, verify, seal or finalize", sub), "prover -h shows how each is called")
	}
	fs := newFlags("ceremony " + sub)
	n := fs.Int("n", 8, "matrix size of the matmul units (init)")
	samples := fs.Int("samples", 2, "rows sampled per group (init)")
	trainKeys := fs.Bool("train", false, "init: a ceremony for the training-step circuit")
	mf := addModelFlags(fs, "init --train: ")
	dir := fs.String("dir", "", "ceremony directory")
	beacon := fs.String("beacon", "", "public random beacon, hex (seal, finalize)")
	beaconSource := fs.String("beacon-source", "", "where the beacon comes from, recorded with it (seal, finalize), e.g. \"drand round 123456\"")
	vkPath := fs.String("vk", "", "verify: also check that this published verifying key is the one the transcript derives")
	out := fs.String("out", "", "directory for the keys (finalize)")
	// Only the subcommand's own flags are parsed (and listed by -h).
	own := newFlags("ceremony " + sub)
	fs.VisitAll(func(f *flag.Flag) {
		if slices.Contains(allowed, f.Name) {
			own.Var(f.Value, f.Name, f.Usage)
		}
	})
	if err := cli.Parse(own, args[1:], false); err != nil {
		return err
	}
	set := setFlags(own)
	if *dir == "" {
		return cli.Usagef("ceremony %s needs --dir DIR", sub)
	}
	beaconOf := func() (snark.Beacon, error) {
		b, err := hex.DecodeString(*beacon)
		if err != nil || len(b) < 16 || len(b) > 1024 {
			return snark.Beacon{}, cli.Usagef("--beacon: want 16 to 1024 bytes of hex from a public source no contributor controls")
		}
		return snark.Beacon{Value: b, Source: *beaconSource}, nil
	}
	if sub == "init" {
		return ceremonyInit(*dir, *trainKeys, *n, *samples, mf, set)
	}
	c, err := snark.OpenCeremony(*dir)
	if err != nil {
		return cli.Usage(err)
	}
	switch sub {
	case "contribute":
		if _, err := c.Verify(); err != nil {
			return fmt.Errorf("the ceremony you were handed does not verify, do not contribute: %w", err)
		}
		f, err := c.Contribute()
		if err != nil {
			return err
		}
		fmt.Printf("phase %d contribution written to %s; your randomness is gone with this process\n", c.Phase(), f)
		if t, err := c.Transcript(); err == nil && len(t.Files) > 0 {
			last := t.Files[len(t.Files)-1]
			fmt.Printf("record this digest and check that the published transcript lists it: %s %x\n", last.Name, last.SHA256)
		}
	case "verify":
		r, err := c.Audit()
		if err != nil {
			return err
		}
		fmt.Printf("phase 1: %d contributions verified\n", r.Phase1)
		if r.Phase == 2 {
			fmt.Printf("phase 2: %d contributions verified\n", r.Phase2)
		}
		for i, b := range r.Beacons {
			if b != nil {
				fmt.Printf("beacon %d: %x (source: %q)\n", i+1, b.Value, b.Source)
			}
		}
		fmt.Printf("transcript: %x (%d files)\n", r.Transcript.Hash, len(r.Transcript.Files))
		if *vkPath != "" {
			vk, err := os.ReadFile(*vkPath)
			if err != nil {
				return err
			}
			if err := c.CheckVK(vk); err != nil {
				return fmt.Errorf("%s is not the key this transcript derives: %w", *vkPath, err)
			}
			fmt.Printf("%s is the verifying key this transcript derives\n", *vkPath)
		}
	case "seal":
		b, err := beaconOf()
		if err != nil {
			return err
		}
		if err := c.SealPhase1With(b); err != nil {
			return err
		}
		fmt.Println("phase 1 verified and sealed; phase 2 is open for contributions")
	case "finalize":
		if *out == "" {
			return cli.Usagef("ceremony finalize needs --out DIR")
		}
		b, err := beaconOf()
		if err != nil {
			return err
		}
		if c.Step != nil {
			k, err := c.FinalizeStepWith(b)
			if err != nil {
				return err
			}
			if err := writeStepKeys(k, *out); err != nil {
				return err
			}
			fmt.Printf("transcript: %x\n", k.Origin.Transcript)
		} else {
			k, err := c.FinalizeWith(b)
			if err != nil {
				return err
			}
			if err := writeKeys(k, *out); err != nil {
				return err
			}
			fmt.Printf("transcript: %x\n", k.Origin.Transcript)
		}
		fmt.Printf("every contribution verified; keys in %s\n", *out)
	}
	return nil
}

func ceremonyInit(dir string, trainKeys bool, n, samples int, mf modelFlags, set map[string]bool) error {
	if err := cli.Range("samples", samples, 1, protocol.MaxSamples); err != nil {
		return err
	}
	if !trainKeys {
		if err := onlyWith(set, "--train", "batch", "layers", "lr-decay-every", "lr-max-shift"); err != nil {
			return err
		}
		if err := cli.Range("n", n, 1, protocol.MaxDim); err != nil {
			return err
		}
		if _, err := snark.InitCeremony(dir, snark.MatMulShape{M: n, K: n, N: n, S: samples}); err != nil {
			return cli.Usage(err)
		}
		fmt.Printf("ceremony for %dx%dx%d units, %d samples, in %s: pass it to the first contributor\n", n, n, n, samples, dir)
		return nil
	}
	if set["n"] {
		return cli.Usagef("--n is for matmul ceremonies, not --train")
	}
	cfg, err := mf.config()
	if err != nil {
		return err
	}
	if _, err := snark.InitStepCeremony(dir, snark.StepShape{Config: cfg, Samples: samples}); err != nil {
		return cli.Usage(err)
	}
	fmt.Printf("ceremony for training steps of layers %v, batch %d, %d samples, in %s: pass it to the first contributor\n", cfg.Dims(), cfg.Batch, samples, dir)
	return nil
}
