// Package bench is the auditors' harness: it measures, in one run and on
// one machine, what trainproof costs and saves, side by side with baselines,
// and writes a report (report.md, report.json with every raw sample, and
// plots as SVG and PNG).
//
// Every figure is a median over repeated runs after a warm-up, with the
// spread (min, max) beside it; inputs change between repetitions (a new
// seed each time) so caches do not flatter.
//
// What it measures is what users are promised: the whole verify (decode,
// signature, roots, checks: bundle.Decode and verifier.Verify on encoded
// bytes) against recomputing the work, for matmul units and training steps;
// the commitment's hashing per lane kernel and the prover's overhead over a
// bare GEMM; escape rates at the default sample counts, in theory and
// measured; the succinct proofs. Built with -tags onednn (cgo, libdnnl),
// oneDNN's bare int8 GEMM stands beside ours; otherwise the report says it
// is not built in. The report names the machine, its CPU features and its
// load, and gives memory (bytes allocated, peak RSS growth) per verify.
//
// The row-hashing section re-runs the bench binary once per lane kernel
// (see ChildEnv), so a binary that embeds Run must call Child when ChildEnv
// is set, as cmd/bench does.
package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"
)

// Config selects a profile.
type Config struct {
	Quick bool   // about 2 minutes on 2 cores
	Out   string // output directory
	// Only, when not empty, runs only the sections whose names start with one
	// of these strings (the report says which ran).
	Only []string
	// Progress, if set, is told when each section starts and ends
	// ("[3/9] row hashing", "[3/9] row hashing: 4.1 s").
	Progress func(string)
}

// Series is one measured quantity over a parameter.
type Series struct {
	Name    string      `json:"name"`
	Unit    string      `json:"unit"`
	X       []float64   `json:"x"`
	XLabel  string      `json:"x_label"`
	Median  []float64   `json:"median"`
	Min     []float64   `json:"min"`
	Max     []float64   `json:"max"`
	Samples [][]float64 `json:"samples"`
}

// Table is a section of the report.
type Table struct {
	Title   string     `json:"title"`
	Note    string     `json:"note,omitempty"`
	Header  []string   `json:"header"`
	Rows    [][]string `json:"rows"`
	Command string     `json:"command,omitempty"`
}

// Report is everything a run measured.
type Report struct {
	Machine   Machine            `json:"machine"`
	GoVersion string             `json:"go_version"`
	Commit    string             `json:"commit"`
	Tags      string             `json:"build_tags"`
	Profile   string             `json:"profile"`
	Started   time.Time          `json:"started"`
	Seconds   float64            `json:"seconds"`
	Tables    []Table            `json:"tables"`
	Sections  []Section          `json:"sections"`
	Series    map[string]*Series `json:"series"`
	Plots     []string           `json:"plots"`
}

// Section is one part of the run and how long it took.
type Section struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

func gitCommit() string {
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func tags() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-tags" {
				return s.Value
			}
		}
	}
	return ""
}

// measure runs f warm+reps times (f gets the repetition index, for fresh
// inputs) and returns the repetitions' values, warm-ups dropped.
func measure(warm, reps int, f func(rep int) float64) []float64 {
	var out []float64
	for i := 0; i < warm+reps; i++ {
		v := f(i)
		if i >= warm {
			out = append(out, v)
		}
	}
	return out
}

func stats(v []float64) (med, lo, hi float64) {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

func (r *Report) add(series, unit, xlabel string, x float64, samples []float64) {
	s := r.Series[series]
	if s == nil {
		s = &Series{Name: series, Unit: unit, XLabel: xlabel}
		r.Series[series] = s
	}
	m, lo, hi := stats(samples)
	s.X = append(s.X, x)
	s.Median = append(s.Median, m)
	s.Min = append(s.Min, lo)
	s.Max = append(s.Max, hi)
	s.Samples = append(s.Samples, samples)
}

// addRange adds one point whose range is given rather than sampled (a
// measured rate with its confidence band).
func (r *Report) addRange(series, unit, xlabel string, x, med, lo, hi float64) {
	r.add(series, unit, xlabel, x, []float64{med})
	s := r.Series[series]
	s.Min[len(s.Min)-1], s.Max[len(s.Max)-1] = lo, hi
}

func seconds(f func()) float64 {
	t0 := time.Now()
	f()
	return time.Since(t0).Seconds()
}

func fmtDur(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.2f ms", s*1e3)
	default:
		return fmt.Sprintf("%.1f µs", s*1e6)
	}
}

func spread(v []float64) string {
	m, lo, hi := stats(v)
	return fmt.Sprintf("%s (%s–%s)", fmtDur(m), fmtDur(lo), fmtDur(hi))
}

var (
	benchKey = ed25519.NewKeyFromSeed(make([]byte, 32))
	benchPub = benchKey.Public().(ed25519.PublicKey)
)

// flush writes the report and plots of what has been measured so far.
func (r *Report) flush(dir string) error {
	r.Seconds = time.Since(r.Started).Seconds()
	r.Plots = nil
	if err := r.plot(dir); err != nil {
		return err
	}
	return r.write(dir)
}

// Run measures everything and writes the report into cfg.Out, rewriting it
// after every section.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, err
	}
	r := &Report{Machine: thisMachine(), GoVersion: runtime.Version(), Commit: gitCommit(),
		Tags: tags(), Profile: "full", Started: time.Now(), Series: map[string]*Series{}}
	if cfg.Quick {
		r.Profile = "quick"
	}
	if len(cfg.Only) > 0 {
		r.Profile += ", only sections matching " + strings.Join(cfg.Only, ", ")
	}
	say := func(s string) {
		if cfg.Progress != nil {
			cfg.Progress(s)
		}
	}
	steps := []struct {
		name string
		f    func(context.Context, *Report, Config) error
	}{
		{"matmul units: whole verify vs recompute", matmulVerify},
		{"training steps: verify vs train", trainVerify},
		{"sampled bundles", sampledBundles},
		{"commitment: row hashing per path", rowHashing},
		{"commitment: prover overhead", proverOverhead},
		{"escape rates (theory)", escapeTheory},
		{"escape rates (measured)", escapeMeasured},
		{"succinct matmul units", succinct},
		{"succinct training steps", succinctSteps},
		{"GPU", gpuSection},
	}
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(cfg.Only) > 0 && !slices.ContainsFunc(cfg.Only, func(o string) bool { return strings.HasPrefix(s.name, o) }) {
			continue
		}
		tag := fmt.Sprintf("[%d/%d] %s", i+1, len(steps), s.name)
		say(tag)
		t0 := time.Now()
		if err := s.f(ctx, r, cfg); err != nil {
			return nil, fmt.Errorf("bench: %s: %w", s.name, err)
		}
		d := time.Since(t0).Seconds()
		r.Sections = append(r.Sections, Section{s.name, d})
		say(fmt.Sprintf("%s: done in %.1f s", tag, d))
		// The report so far, so that a run stopped later keeps what it measured.
		if err := r.flush(cfg.Out); err != nil {
			return nil, err
		}
	}
	if err := r.flush(cfg.Out); err != nil {
		return nil, err
	}
	return r, nil
}
