//go:build !cuda

package bench

import "context"

// gpuSection says that this build has no GPU path: the cuda build (make
// cuda, on a GPU machine) measures our GEMM, cuBLASLt and the device overhead.
func gpuSection(ctx context.Context, r *Report, cfg Config) error {
	r.Tables = append(r.Tables, Table{Title: "GPU", Header: []string{"status"},
		Rows: [][]string{{"no GPU section in this build: build with make cuda and run bin/cuda/bench on a GPU machine (with bin/cublas_ref beside it)"}}})
	return nil
}
