package bench

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReportFiles: a report writes report.md, report.json and every plot as
// SVG and PNG.
func TestReportFiles(t *testing.T) {
	r := &Report{Machine: thisMachine(), Started: time.Now(), Series: map[string]*Series{}}
	for _, n := range []float64{256, 512, 1024} {
		r.add("verify full", "s", "n", n, []float64{n * 1e-6, n * 2e-6})
		r.add("recompute ours", "s", "n", n, []float64{n * 1e-4})
		r.add("bundle bytes full", "bytes", "n", n, []float64{n * 500})
		r.add("bundle bytes s=8", "bytes", "n", n, []float64{n * 50})
	}
	for _, k := range []float64{1, 2, 4} {
		r.add("escape theory", "p", "k", k, []float64{1 / (k + 1)})
		r.addRange("escape measured", "p", "k", k, 1/(k+1.1), 0.8/(k+1), 1.2/(k+1))
	}
	for _, s := range []float64{1, 2, 4, 8} {
		r.add("succinct prove", "s", "samples", s, []float64{0.3 * s})
	}
	r.Tables = append(r.Tables, Table{Title: "T", Header: []string{"a", "b"}, Rows: [][]string{{"1", "2"}}})
	dir := t.TempDir()
	require.NoError(t, r.plot(dir))
	require.NoError(t, r.write(dir))
	for _, f := range []string{"report.md", "report.json", "verify_vs_recompute.svg", "verify_vs_recompute.png", "bundle_size.png", "escape.png", "succinct_prove.png", "bundle_size.svg"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		require.Greater(t, st.Size(), int64(100), f)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	require.True(t, strings.Contains(string(md), "| 1 | 2 |"))
	m, lo, hi := stats([]float64{3, 1, 2})
	require.Equal(t, [3]float64{2, 1, 3}, [3]float64{m, lo, hi})
}

// TestReadableTicks: tick labels are plain decimals with few digits (no
// "0.015625"), and log axes get 1-2-5 labels.
func TestReadableTicks(t *testing.T) {
	for _, tk := range (logTicks{}).Ticks(0.004, 0.9) {
		require.LessOrEqual(t, len(tk.Label), 5, tk.Label)
	}
	require.Equal(t, "0.001", num(0.001))
	require.Equal(t, "4096", num(4096))
	require.Equal(t, "0.016", num(0.016))
	require.Equal(t, "0", num(math.Copysign(0, -1)))
	var labels []string
	for _, tk := range (logTicks{}).Ticks(0.9, 600) {
		labels = append(labels, tk.Label)
	}
	require.Equal(t, []string{"1", "2", "5", "10", "20", "50", "100", "200", "500"}, labels)
}

// TestEscapeTheory: the bounds agree with scripts/soundness-bounds.py
// (docs/SOUNDNESS.md §4's table).
func TestEscapeTheory(t *testing.T) {
	rows, lp := cheapestCheat([]int{784, 256, 128, 10}, 128, 128, 0.10)
	require.Equal(t, [][2]int{{1, 197}}, rows)
	require.InDelta(t, -59.2, lp, 0.05)
	rows, lp = cheapestCheat([]int{784, 4096, 4096, 10}, 128, 128, 0.10)
	require.Equal(t, [][2]int{{2, 1389}}, rows)
	require.InDelta(t, -78.0, lp, 0.05)
	require.InDelta(t, -44.1, logMiss(4096, 409, 280), 0.05)
	require.InDelta(t, 1-280.0/1024, math.Exp2(logMiss(1024, 1, 280)), 1e-12)
}

// TestWilson: the interval holds its estimate, stays in [0, 1] and is not
// empty with no successes.
func TestWilson(t *testing.T) {
	lo, hi := wilson(0, 1000, 3)
	require.Equal(t, 0.0, lo)
	require.Greater(t, hi, 0.0)
	lo, hi = wilson(500, 1000, 3)
	require.Less(t, lo, 0.5)
	require.Greater(t, hi, 0.5)
	require.InDelta(t, 0.5, (lo+hi)/2, 1e-9)
	_, hi = wilson(1000, 1000, 3)
	require.Equal(t, 1.0, hi)
}

// TestHashingRates: one process's row-hashing measurement names its lane
// kernel and has positive rates at every row size.
func TestHashingRates(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes for about two seconds")
	}
	hr := measureHashing(true, true)
	require.NotEmpty(t, hr.Kernel)
	for _, what := range []string{"sha256", "blake3", "library"} {
		rates := hr.Rates[what+" wall"]
		require.Len(t, rates, len(rowSizes), what)
		for _, r := range rates {
			require.NotEmpty(t, r)
			for _, v := range r {
				require.Greater(t, v, 0.0, what)
			}
		}
	}
}
