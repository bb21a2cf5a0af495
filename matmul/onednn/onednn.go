//go:build onednn && cgo

package onednn

// #cgo LDFLAGS: -ldnnl -lgomp
// #include <dnnl.h>
// #include <omp.h>
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/seed46f70faa/trainproof/tensor"
)

// SetThreads sets the OpenMP threads oneDNN uses.
func SetThreads(n int) { C.omp_set_num_threads(C.int(n)) }

// GEMM computes c = a·b (row-major, no transposes) with dnnl_gemm_s8s8s32:
// alpha 1, beta 0, no offsets.
func GEMM(a, b *tensor.Int8, c *tensor.Int32) error {
	m, k, n := a.Rows, a.Cols, b.Cols
	if b.Rows != k || c.Rows != m || c.Cols != n {
		return fmt.Errorf("onednn: shapes %d×%d · %d×%d → %d×%d", m, k, b.Rows, n, c.Rows, c.Cols)
	}
	var co C.int32_t
	st := C.dnnl_gemm_s8s8s32('N', 'N', 'F', C.dnnl_dim_t(m), C.dnnl_dim_t(n), C.dnnl_dim_t(k), 1,
		(*C.int8_t)(unsafe.Pointer(&a.Data[0])), C.dnnl_dim_t(k), 0,
		(*C.int8_t)(unsafe.Pointer(&b.Data[0])), C.dnnl_dim_t(n), 0,
		0, (*C.int32_t)(unsafe.Pointer(&c.Data[0])), C.dnnl_dim_t(n), &co)
	if st != C.dnnl_success {
		return fmt.Errorf("onednn: dnnl_gemm_s8s8s32 failed with status %d", int(st))
	}
	return nil
}
