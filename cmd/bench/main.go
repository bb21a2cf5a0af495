// Command bench is the auditors' benchmark suite: it measures what
// trainproof costs and saves on this machine, side by side with baselines,
// and writes report.md, report.json and plots (SVG, PNG) into --out.
//
// Usage:
//
//	bench [--quick] --out DIR
//
// --quick finishes in about 3 minutes on 2 cores; the full profile takes
// longer and covers larger sizes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/consensys/gnark/logger"

	"github.com/seed46f70faa/trainproof/bench"
)

func main() {
	logger.Disable()
	quick := flag.Bool("quick", false, "the quick profile (about 3 minutes on 2 cores)")
	out := flag.String("out", "", "output directory")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: bench [--quick] --out DIR")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t0 := time.Now()
	r, err := bench.Run(ctx, bench.Config{Quick: *quick, Out: *out, Progress: func(s string) {
		fmt.Fprintf(os.Stderr, "bench: %5.0f s  %s\n", time.Since(t0).Seconds(), s)
	}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: error: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("report in %s (report.md, report.json, %d plots), %.0f s\n", *out, len(r.Plots), r.Seconds)
}
