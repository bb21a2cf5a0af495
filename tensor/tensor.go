// Package tensor holds the host-side matrix types shared by every trainproof
// package: row-major int8 and int32 matrices and their canonical byte
// encoding (little-endian rows), which is what commitments hash.
package tensor

import (
	"encoding/binary"
	"fmt"
)

// Kind is the element type of a matrix.
type Kind uint8

const (
	KindInt8  Kind = 1
	KindInt32 Kind = 2
)

// Size is the number of bytes of one element.
func (k Kind) Size() int {
	switch k {
	case KindInt8:
		return 1
	case KindInt32:
		return 4
	}
	return 0
}

func (k Kind) String() string {
	switch k {
	case KindInt8:
		return "int8"
	case KindInt32:
		return "int32"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Int8 is a row-major rows×cols matrix of int8.
type Int8 struct {
	Rows, Cols int
	Data       []int8
}

// NewInt8 allocates a zeroed rows×cols matrix.
func NewInt8(rows, cols int) *Int8 {
	return &Int8{Rows: rows, Cols: cols, Data: make([]int8, rows*cols)}
}

// Row returns row i as a sub-slice (no copy).
func (m *Int8) Row(i int) []int8 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// At returns element (i, j).
func (m *Int8) At(i, j int) int8 { return m.Data[i*m.Cols+j] }

// Int32 is a row-major rows×cols matrix of int32.
type Int32 struct {
	Rows, Cols int
	Data       []int32
}

// NewInt32 allocates a zeroed rows×cols matrix.
func NewInt32(rows, cols int) *Int32 {
	return &Int32{Rows: rows, Cols: cols, Data: make([]int32, rows*cols)}
}

// Row returns row i as a sub-slice (no copy).
func (m *Int32) Row(i int) []int32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// At returns element (i, j).
func (m *Int32) At(i, j int) int32 { return m.Data[i*m.Cols+j] }

// Int8Bytes appends the canonical encoding of an int8 row (one byte each).
func Int8Bytes(dst []byte, row []int8) []byte {
	for _, v := range row {
		dst = append(dst, byte(v))
	}
	return dst
}

// Int32Bytes appends the canonical encoding of an int32 row (4 bytes each, little-endian).
func Int32Bytes(dst []byte, row []int32) []byte {
	for _, v := range row {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
	}
	return dst
}

// Int8FromBytes decodes a row written by Int8Bytes into dst (len(dst) == len(b)).
func Int8FromBytes(dst []int8, b []byte) {
	for i := range dst {
		dst[i] = int8(b[i])
	}
}

// Int32FromBytes decodes a row written by Int32Bytes into dst (4·len(dst) == len(b)).
func Int32FromBytes(dst []int32, b []byte) {
	for i := range dst {
		dst[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
}
