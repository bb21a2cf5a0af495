// Command bench is the auditors' benchmark suite: it measures what
// trainproof costs and saves on this machine, side by side with baselines
// (our GEMM and, when built with -tags onednn, oneDNN's), and writes
// report.md, report.json and plots (SVG, PNG) into --out.
//
// Usage:
//
//	bench [--quick] [--only SECTIONS] --out DIR
//
// --only runs the sections whose names start with one of the comma-separated
// strings (for example --only commitment,training).
//
// --quick finishes in about two minutes on 2 cores; the full profile takes
// much longer (it proves the default model's training step with Groth16,
// whose development setup alone takes about 20 minutes) and covers larger
// sizes. Progress goes to stderr: one line when a section starts, one when
// it ends, with its duration.
//
// Build with -tags onednn (cgo, libdnnl) to put oneDNN's bare int8 GEMM in
// the report; without it the report says "oneDNN: not built in".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/consensys/gnark/logger"

	"github.com/seed46f70faa/trainproof/bench"
)

func main() {
	if mode := os.Getenv(bench.ChildEnv); mode != "" {
		// A child of the row-hashing section (one lane kernel a process).
		if err := bench.Child(mode); err != nil {
			fmt.Fprintf(os.Stderr, "bench: error: %v\n", err)
			os.Exit(1)
		}
		return
	}
	logger.Disable()
	quick := flag.Bool("quick", false, "the quick profile (about two minutes on 2 cores)")
	out := flag.String("out", "", "output directory")
	only := flag.String("only", "", "comma-separated: run only the sections whose names start with one of these (matmul units, training, sampled, commitment, escape, succinct, GPU)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: bench [--quick] [--only SECTIONS] --out DIR")
		os.Exit(2)
	}
	var sections []string
	if *only != "" {
		sections = strings.Split(*only, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t0 := time.Now()
	r, err := bench.Run(ctx, bench.Config{Quick: *quick, Out: *out, Only: sections, Progress: func(s string) {
		fmt.Fprintf(os.Stderr, "bench: %s (%.0f s since start)\n", s, time.Since(t0).Seconds())
	}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: error: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("report in %s (report.md, report.json, %d plots), %.0f s\n", *out, len(r.Plots), r.Seconds)
}
