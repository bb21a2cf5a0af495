//go:build !amd64 || purego

package field

// HasSIMD reports whether SIMD projection kernels run here: never in this build.
const HasSIMD = false

func dotInt8(row []int8, v []Elem) Elem   { return dotInt8Generic(row, v) }
func dotInt32(row []int32, v []Elem) Elem { return dotInt32Generic(row, v) }
