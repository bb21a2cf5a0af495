//go:build amd64 && !purego

package field

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// HasSIMD reports whether the AVX-512 projection kernels run on this CPU.
var HasSIMD = cpu.X86.HasAVX512F

// limbs folds limb sums Σ x·limb_j into Σ x·v mod p, limb j weighted 2^(shift·j).
func fold(shift uint, sums ...int64) Elem {
	var acc Elem
	for j := len(sums) - 1; j >= 0; j-- {
		acc = Add(Mul(acc, Elem(uint64(1)<<shift)), FromInt64(sums[j]))
	}
	return acc
}

func dotInt8(row []int8, v []Elem) Elem {
	n := len(row) &^ 15
	if !HasSIMD || n == 0 {
		return dotInt8Generic(row, v)
	}
	v = v[:len(row)]
	lo, hi := dotInt8AVX512(&row[0], (*uint64)(unsafe.Pointer(&v[0])), n)
	acc := fold(31, lo, hi)
	if n < len(row) {
		acc = Add(acc, dotInt8Generic(row[n:], v[n:]))
	}
	return acc
}

func dotInt32(row []int32, v []Elem) Elem {
	if !HasSIMD || len(row) < 8 {
		return dotInt32Generic(row, v)
	}
	v = v[:len(row)]
	var acc Elem
	i := 0
	for ; i+8 <= len(row); i += 1024 {
		n := min(1024, (len(row)-i)&^7)
		l0, l1, l2 := dotInt32AVX512(&row[i], (*uint64)(unsafe.Pointer(&v[i])), n)
		acc = Add(acc, fold(21, l0, l1, l2))
		if n < 1024 {
			i += n
			break
		}
	}
	if i < len(row) {
		acc = Add(acc, dotInt32Generic(row[i:], v[i:]))
	}
	return acc
}
