package matmul_test

import (
	"context"
	"fmt"

	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/tensor"
)

// An exact int8 product on the CPU backend, on host matrices without copies.
func ExampleNewCPU() {
	cpu := matmul.NewCPU()
	a := &tensor.Int8{Rows: 2, Cols: 3, Data: []int8{1, 2, 3, -128, 127, 0}}
	b := &tensor.Int8{Rows: 3, Cols: 1, Data: []int8{-128, -128, 1}}
	c := tensor.NewInt32(2, 1)
	err := cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c)}})
	fmt.Println(c.Data, err)
	// Output: [-381 128] <nil>
}
