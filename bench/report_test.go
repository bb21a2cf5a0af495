package bench

import (
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
	r := &Report{Machine: "test", Started: time.Now(), Series: map[string]*Series{}}
	for _, n := range []float64{256, 512, 1024} {
		r.add("verify", "s", "n", n, []float64{n * 1e-6, n * 2e-6})
		r.add("recompute", "s", "n", n, []float64{n * 1e-4})
		r.add("bundle bytes s=8", "bytes", "n", n, []float64{n * 50})
	}
	r.add("escape theory", "p", "f", 0.25, []float64{0.1})
	r.add("escape measured", "p", "f", 0.25, []float64{0.11})
	r.add("succinct prove", "s", "samples", 1, []float64{0.3})
	r.Tables = append(r.Tables, Table{Title: "T", Header: []string{"a", "b"}, Rows: [][]string{{"1", "2"}}})
	dir := t.TempDir()
	require.NoError(t, r.plot(dir))
	require.NoError(t, r.write(dir))
	for _, f := range []string{"report.md", "report.json", "verify_vs_recompute.svg", "verify_vs_recompute.png", "bundle_size.png", "escape.png", "succinct_prove.png"} {
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
