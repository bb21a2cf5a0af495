package bench

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
}

// A style draws a series as a line with points (the default), points only
// (measurements whose theory is another series), or a wide pale line
// (theory, drawn first so the measurements stay visible on top).
type style int

const (
	linePoints style = iota
	pointsOnly
	theory
)

type figure struct {
	file, title, xlabel, ylabel string
	logX, logY                  bool
	series                      []string
	labels                      []string
	styles                      []style // per series; missing means linePoints
	scale                       float64 // multiply values (e.g. 1000 for ms)
	minPoints                   int     // plot only when the first series has this many points
	legendLeft, legendBottom    bool    // where the legend goes (default top right)
}

// valueTicks labels the measured x values (log axes over one decade get
// too few labels from plot.LogTicks).
type valueTicks []float64

func (v valueTicks) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	for _, x := range v {
		t = append(t, plot.Tick{Value: x, Label: num(x)})
	}
	return t
}

// logTicks labels 1, 2 and 5 times powers of ten (only the powers when the
// axis spans more than three decades), written as plain decimals.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || max <= min {
		return nil
	}
	var t []plot.Tick
	wide := math.Log10(max/min) > 3
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < min*0.999 || v > max*1.001 {
				continue
			}
			label := num(v)
			if wide && m != 1 {
				label = ""
			}
			t = append(t, plot.Tick{Value: v, Label: label})
		}
	}
	return t
}

// linTicks labels a linear axis every 1, 2 or 5 times a power of ten,
// whichever gives four to ten labels.
type linTicks struct{}

func (linTicks) Ticks(min, max float64) []plot.Tick {
	if max <= min {
		return nil
	}
	step := math.Pow(10, math.Floor(math.Log10(max-min)))
	for _, m := range []float64{0.1, 0.2, 0.5, 1, 2} {
		if (max-min)/(step*m) <= 10 {
			step *= m
			break
		}
	}
	var t []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max+step*1e-9; v += step {
		t = append(t, plot.Tick{Value: v, Label: num(math.Round(v/step) * step)})
	}
	return t
}

// num writes a tick value with at most three significant digits and no
// exponent for everyday magnitudes.
func num(v float64) string {
	if v == 0 {
		return "0" // not "-0"
	}
	if v != 0 && (math.Abs(v) < 1e-4 || math.Abs(v) >= 1e7) {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// errXY is a series with its (min, max) range as error bars.
type errXY struct {
	plotter.XYs
	plotter.YErrors
}

func (r *Report) plot(dir string) error {
	figs := []figure{
		{file: "verify_vs_recompute", title: "Matmul unit: whole verify (decode, signature, roots, checks) vs recompute",
			xlabel: "n (A, B are n×n int8; C n×n int32)", ylabel: "time (ms, log)", logX: true, logY: true,
			series: []string{"verify full", "verify sampled", "freivalds check", "recompute ours", "recompute onednn"},
			labels: []string{"verify full-data bundle", "verify sampled bundle (s = 280)", "Freivalds check alone", "recompute: our int8 GEMM", "recompute: oneDNN int8 GEMM"},
			scale:  1000, legendLeft: true},
		{file: "bundle_size", title: "Matmul bundle size", xlabel: "n", ylabel: "bundle size (KiB, log)", logX: true, logY: true,
			series: []string{"bundle bytes full", "bundle bytes s=280", "bundle bytes s=128", "bundle bytes s=32", "bundle bytes s=8"},
			labels: []string{"full data", "sampled, s = 280 (default)", "sampled, s = 128", "sampled, s = 32", "sampled, s = 8"}, scale: 1.0 / 1024, legendLeft: true},
		{file: "escape", title: "Escape a try: k wrong rows of 1024, s = 280 (theory vs measured ± 3σ)", xlabel: "rows wrong (k)", ylabel: "escape probability (log)",
			logX: true, logY: true, series: []string{"escape theory", "escape measured"},
			labels: []string{"theory C(n−k, s)/C(n, s)", "measured (beacon nonces), ± 3σ"}, styles: []style{theory, pointsOnly}, scale: 1, legendLeft: true, legendBottom: true},
		{file: "row_hashing", title: "Row hashing on one core: v1 SHA-256 vs v2 BLAKE3 per path", xlabel: "row bytes", ylabel: "GB/s (thread CPU time)", logX: true,
			series: []string{"row hashing v2 blake3 avx512", "row hashing v2 blake3 avx2", "row hashing v1 sha256", "row hashing v2 blake3 go"},
			labels: []string{"v2 BLAKE3, AVX-512 lanes", "v2 BLAKE3, AVX2 lanes", "v1 SHA-256 (crypto/sha256)", "v2 BLAKE3, pure Go lanes"}, scale: 1},
		{file: "prover_overhead", title: "CPU prover (prover matmul's stages) over a bare GEMM, s = 280", xlabel: "n", ylabel: "prover time over the bare GEMM (%)", logX: true,
			series: []string{"overhead over our gemm", "overhead over our gemm cpu", "overhead over onednn"},
			labels: []string{"over our bare GEMM, wall time", "over our bare GEMM, CPU time", "over oneDNN's bare GEMM, wall time"}, scale: 1},
		{file: "succinct_prove", title: "Groth16 prove time vs samples (8×8×8 matmul unit; median, min–max)", xlabel: "samples per group", ylabel: "prove time (s)", logX: true,
			series: []string{"succinct prove"}, labels: []string{"prove (all cores)"}, scale: 1, minPoints: 4, legendLeft: true},
	}
	for _, f := range figs {
		first := r.Series[f.series[0]]
		if first == nil || len(first.X) < max(f.minPoints, 1) {
			continue
		}
		p := plot.New()
		p.Title.Text = f.title
		p.X.Label.Text = f.xlabel
		p.Y.Label.Text = f.ylabel
		p.X.Tick.Marker = valueTicks(first.X)
		if f.logX {
			p.X.Scale = plot.LogScale{}
		}
		if f.logY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = logTicks{}
		} else {
			p.Y.Tick.Marker = linTicks{}
		}
		p.Legend.Top = !f.legendBottom
		p.Legend.Left = f.legendLeft
		p.Legend.XOffs = vg.Points(-6)
		if f.legendLeft {
			p.Legend.XOffs = vg.Points(12)
		}
		p.Title.Padding = vg.Points(8)
		p.Add(plotter.NewGrid())
		type drawn struct {
			label string
			thumb []plot.Thumbnailer
		}
		var legend []drawn
		// Theory first, so measured points are drawn over it.
		order := make([]int, 0, len(f.series))
		for i := range f.series {
			if i < len(f.styles) && f.styles[i] == theory {
				order = append(order, i)
			}
		}
		for i := range f.series {
			if !(i < len(f.styles) && f.styles[i] == theory) {
				order = append(order, i)
			}
		}
		for _, i := range order {
			s := r.Series[f.series[i]]
			if s == nil || len(s.X) == 0 {
				continue
			}
			st := linePoints
			if i < len(f.styles) {
				st = f.styles[i]
			}
			col := palette[i%len(palette)]
			pts := make(plotter.XYs, len(s.X))
			errs := make(plotter.YErrors, len(s.X))
			ranged := false
			for j := range s.X {
				y := s.Median[j] * f.scale
				pts[j].X, pts[j].Y = s.X[j], y
				errs[j].Low, errs[j].High = y-s.Min[j]*f.scale, s.Max[j]*f.scale-y
				if errs[j].Low > 0 || errs[j].High > 0 {
					ranged = true
				}
			}
			var thumbs []plot.Thumbnailer
			switch st {
			case theory:
				l, err := plotter.NewLine(pts)
				if err != nil {
					return err
				}
				l.Color = color.RGBA{R: 0x9e, G: 0xc5, B: 0xe8, A: 0xff}
				l.Width = vg.Points(6)
				p.Add(l)
				thumbs = append(thumbs, l)
			case pointsOnly:
				sc, err := plotter.NewScatter(pts)
				if err != nil {
					return err
				}
				sc.Color = col
				sc.Shape = draw.CircleGlyph{}
				sc.Radius = vg.Points(3)
				p.Add(sc)
				thumbs = append(thumbs, sc)
			default:
				l, sc, err := plotter.NewLinePoints(pts)
				if err != nil {
					return err
				}
				l.Color, l.Width, sc.Color = col, vg.Points(1.5), col
				p.Add(l, sc)
				thumbs = append(thumbs, l, sc)
			}
			if ranged && st != theory {
				eb, err := plotter.NewYErrorBars(errXY{pts, errs})
				if err != nil {
					return err
				}
				eb.Color = col
				eb.CapWidth = vg.Points(5)
				p.Add(eb)
			}
			legend = append(legend, drawn{f.labels[i], thumbs})
		}
		for _, d := range legend {
			p.Legend.Add(d.label, d.thumb...)
		}
		// Headroom above the data for the legend.
		if !f.legendBottom {
			if f.logY {
				p.Y.Max *= math.Pow(p.Y.Max/p.Y.Min, 0.3)
			} else {
				p.Y.Min = min(p.Y.Min, 0)
				p.Y.Max += 0.35 * (p.Y.Max - p.Y.Min)
			}
		}
		for _, ext := range []string{"svg", "png"} {
			name := f.file + "." + ext
			if err := p.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(dir, name)); err != nil {
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
	m := r.Machine
	feats := strings.Join(m.Features, ", ")
	if len(m.Missing) > 0 {
		feats += "; no " + strings.Join(m.Missing, ", no ")
	}
	fmt.Fprintf(&b, "| | |\n|---|---|\n| machine | %s, %d logical CPUs, %.0f GiB |\n| CPU features | %s |\n| load average at start | %s |\n| oneDNN | %s |\n| Go | %s |\n| commit | %s |\n| build tags | %q |\n| profile | %s (%.0f s) |\n| started | %s |\n\n",
		m.Model, m.CPUs, m.MemGiB, feats, m.Load, m.OneDNN, r.GoVersion, r.Commit, r.Tags, r.Profile, r.Seconds, r.Started.UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("Times are medians over repeated runs after a warm-up, with (min–max); every raw sample is in report.json. ")
	b.WriteString("Memory columns: bytes the Go heap allocated during one operation, and the growth of the process's peak resident set over what it held before (Linux VmHWM, reset before each operation). ")
	b.WriteString("On a machine shared with other jobs absolute times are noisy: read the ratios, which are measured in the same run on the same inputs.\n\n")
	if len(r.Sections) > 0 {
		b.WriteString("| section | seconds |\n|---|---|\n")
		for _, s := range r.Sections {
			fmt.Fprintf(&b, "| %s | %.1f |\n", s.Name, s.Seconds)
		}
		b.WriteString("\n")
	}
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
