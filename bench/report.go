package bench

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

type figure struct {
	file, title, xlabel, ylabel string
	logX, logY                  bool
	series                      []string
	labels                      []string
	scale                       float64 // multiply values (e.g. 1000 for ms)
	legendRight                 bool
}

// valueTicks labels the measured x values (log axes over one decade get
// too few labels from plot.LogTicks).
type valueTicks []float64

func (v valueTicks) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	for _, x := range v {
		t = append(t, plot.Tick{Value: x, Label: fmt.Sprintf("%g", x)})
	}
	return t
}

func (r *Report) plot(dir string) error {
	figs := []figure{
		{"verify_vs_recompute", "Full-mode verify vs recomputing C = A·B", "n (A, B are n×n int8)", "time (ms, log)", true, true,
			[]string{"verify", "recompute", "dgemm"}, []string{"Freivalds check (one pass over A, B, C)", "recompute, our int8 GEMM", "gonum float64 DGEMM"}, 1000, false},
		{"bundle_size", "Sampled bundle size (matmul unit)", "n", "bundle size (KiB, log)", true, true,
			[]string{"bundle bytes s=8", "bundle bytes s=32", "bundle bytes s=128"}, []string{"s = 8", "s = 32", "s = 128"}, 1.0 / 1024, false},
		{"escape", "Sampled-mode escape: theory vs measured (s = 8, 64 rows)", "fraction of rows wrong", "escape probability", false, false,
			[]string{"escape theory", "escape measured"}, []string{"theory C(n−t, s)/C(n, s)", "measured (beacon trials)"}, 1, true},
		{"row_hashing", "Row hashing on one core: v1 SHA-256 vs v2 BLAKE3 leaves", "row bytes", "GB/s", true, false,
			[]string{"row hashing v1 sha256", "row hashing v2 blake3"}, []string{"v1: SHA-256 (crypto/sha256)", "v2: BLAKE3 keyed, commit.HashRows"}, 1, false},
		{"prover_overhead", "CPU prover overhead over the bare GEMM (matmul unit, s = 32)", "n", "overhead (%)", true, false,
			[]string{"overhead matmul"}, []string{"commit + open + sign"}, 1, true},
		{"succinct_prove", "Groth16 prove time vs samples (8×8×8 unit)", "samples per group", "prove time (ms)", false, false,
			[]string{"succinct prove"}, []string{"prove (2 cores)"}, 1000, false},
	}
	for _, f := range figs {
		p := plot.New()
		p.Title.Text = f.title
		p.X.Label.Text = f.xlabel
		p.Y.Label.Text = f.ylabel
		if s := r.Series[f.series[0]]; s != nil {
			p.X.Tick.Marker = valueTicks(s.X)
		}
		if f.logX {
			p.X.Scale = plot.LogScale{}
		}
		if f.logY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		}
		p.Legend.Top = true
		p.Legend.Left = !f.legendRight
		p.Title.Padding = vg.Points(8)
		any := false
		for i, name := range f.series {
			s := r.Series[name]
			if s == nil || len(s.X) == 0 {
				continue
			}
			pts := make(plotter.XYs, len(s.X))
			for j := range s.X {
				pts[j].X, pts[j].Y = s.X[j], s.Median[j]*f.scale
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			line.Color = palette[i%len(palette)]
			line.Width = vg.Points(1.5)
			points.Color = palette[i%len(palette)]
			p.Add(line, points)
			p.Legend.Add(f.labels[i], line, points)
			any = true
		}
		if !any {
			continue
		}
		p.Add(plotter.NewGrid())
		for _, ext := range []string{"svg", "png"} {
			name := f.file + "." + ext
			if err := p.Save(7*vg.Inch, 4.5*vg.Inch, filepath.Join(dir, name)); err != nil {
				return err
			}
			r.Plots = append(r.Plots, name)
		}
	}
	return nil
}

func (r *Report) write(dir string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), js, 0o644); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# trainproof benchmark report\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n| machine | %s, %d CPUs |\n| Go | %s |\n| commit | %s |\n| build tags | %q |\n| profile | %s (%.0f s) |\n| started | %s |\n\n",
		r.Machine, r.CPUs, r.GoVersion, r.Commit, r.Tags, r.Profile, r.Seconds, r.Started.UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("Times are medians over repeated runs after a warm-up, with (min–max); every raw sample is in report.json. ")
	b.WriteString("No GPU figures: this build found no GPU (the cuda build's `bin/cuda/gpu.test -test.bench GEMM` and `bin/cublas_ref` measure one).\n\n")
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "## %s\n\n", t.Title)
		b.WriteString("| " + strings.Join(t.Header, " | ") + " |\n")
		b.WriteString("|" + strings.Repeat("---|", len(t.Header)) + "\n")
		for _, row := range t.Rows {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
		if t.Note != "" {
			fmt.Fprintf(&b, "\n%s\n", t.Note)
		}
		b.WriteString("\n")
	}
	pngs := []string{}
	for _, p := range r.Plots {
		if strings.HasSuffix(p, ".png") {
			pngs = append(pngs, p)
		}
	}
	sort.Strings(pngs)
	if len(pngs) > 0 {
		b.WriteString("## Plots\n\n")
		for _, p := range pngs {
			fmt.Fprintf(&b, "![%s](%s) ([SVG](%s))\n\n", strings.TrimSuffix(p, ".png"), p, strings.TrimSuffix(p, ".png")+".svg")
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(b.String()), 0o644)
}
