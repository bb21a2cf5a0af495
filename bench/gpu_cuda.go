//go:build cuda

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"

	"github.com/seed46f70faa/trainproof/cgo/cuda"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/internal/testutil"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/tensor"
)

// gpuSection measures our tensor-core GEMM on the GPU (TOPS), the share of
// the prover's device work (row hashes and projection of C), and, when
// bin/cublas_ref is present, cuBLASLt on the same card.
func gpuSection(ctx context.Context, r *Report, cfg Config) error {
	dev, err := cuda.Open(0)
	if err != nil {
		return fmt.Errorf("cuda build without a usable GPU: %w", err)
	}
	g := gpu.New(dev, "cuda")
	defer g.Close()
	sizes := pick(cfg.Quick, []int{1024, 2048, 4096, 8192}, []int{1024, 2048, 4096, 8192, 16384})
	ref := cublasRef(sizes)
	t := Table{Title: "GPU (" + dev.Name() + "): int8 GEMM and the prover's device work",
		Header: []string{"n", "our GEMM", "TOPS", "cuBLASLt TOPS", "% of cuBLAS", "BLAKE3 row leaves of C", "leaves GB/s", "hash + project C", "overhead"}, Command: "bench --out DIR (cuda build)"}
	for _, n := range sizes {
		rng := rand.New(rand.NewPCG(uint64(n), 9))
		da, err := g.UploadInt8(testutil.RandInt8(rng, n, n))
		if err != nil {
			return err
		}
		db, err := g.UploadInt8(testutil.RandInt8(rng, n, n))
		if err != nil {
			return err
		}
		dc, err := g.Alloc(tensor.KindInt32, n, n)
		if err != nil {
			return err
		}
		rv := make([]field.Elem, n)
		for i := range rv {
			rv[i] = field.New(rng.Uint64())
		}
		hashes, proj := make([][32]byte, n), make([]field.Elem, n)
		gemm := measure(1, 5, func(int) float64 {
			return seconds(func() { g.MatMul(ctx, []matmul.Product{{A: da, B: db, C: dc}}) })
		})
		hash := measure(1, 5, func(int) float64 {
			return seconds(func() { g.HashRows(ctx, dc, [32]byte{1}, hashes) })
		})
		extra := measure(1, 5, func(int) float64 {
			return seconds(func() {
				g.HashRows(ctx, dc, [32]byte{1}, hashes)
				g.Project(ctx, dc, rv, proj)
			})
		})
		mg, _, _ := stats(gemm)
		mh, _, _ := stats(hash)
		me, _, _ := stats(extra)
		tops := 2 * float64(n) * float64(n) * float64(n) / mg / 1e12
		refTops, pct := "—", "—"
		if x, ok := ref[n]; ok {
			refTops, pct = fmt.Sprintf("%.0f", x), fmt.Sprintf("%.0f %%", 100*tops/x)
		}
		r.add("gpu gemm", "s", "n", float64(n), gemm)
		t.Rows = append(t.Rows, []string{fmt.Sprint(n), spread(gemm), fmt.Sprintf("%.1f", tops), refTops, pct,
			spread(hash), fmt.Sprintf("%.0f", 4*float64(n)*float64(n)/mh/1e9), spread(extra), fmt.Sprintf("%.0f %%", 100*me/mg)})
		g.Free(da)
		g.Free(db)
		g.Free(dc)
	}
	r.Tables = append(r.Tables, t)
	return nil
}

// cublasRef runs bin/cublas_ref (make cublas-ref) when present: TOPS by n.
func cublasRef(sizes []int) map[int]float64 {
	out := map[int]float64{}
	if _, err := os.Stat("bin/cublas_ref"); err != nil {
		return out
	}
	args := make([]string, len(sizes))
	for i, n := range sizes {
		args[i] = fmt.Sprint(n)
	}
	cmd := exec.Command("bin/cublas_ref", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil || cmd.Start() != nil {
		return out
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var row struct {
			N    int     `json:"n"`
			TOPS float64 `json:"tops"`
		}
		if json.Unmarshal(sc.Bytes(), &row) == nil {
			out[row.N] = row.TOPS
		}
	}
	cmd.Wait()
	return out
}
