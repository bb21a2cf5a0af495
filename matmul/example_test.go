package matmul_test

import (
	"context"
	"fmt"

	"github.com/seed46f70faa/trainproof/field"
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

// A Freivalds check of C = A·B with projections: C·r = A·(B·r) for a random
// r, which costs three passes over the operands instead of a second product.
func ExampleCPU_Project() {
	ctx := context.Background()
	cpu := matmul.NewCPU()
	a := cpu.WrapInt8(&tensor.Int8{Rows: 2, Cols: 3, Data: []int8{1, 2, 3, -128, 127, 0}})
	b := cpu.WrapInt8(&tensor.Int8{Rows: 3, Cols: 2, Data: []int8{-128, 5, -128, 6, 1, 7}})
	c := cpu.WrapInt32(tensor.NewInt32(2, 2))
	if err := cpu.MatMul(ctx, []matmul.Product{{A: a, B: b, C: c}}); err != nil {
		fmt.Println(err)
		return
	}
	r := []field.Elem{field.New(0x1234567890abcdef), field.New(42)} // a verifier's challenge
	br, abr, cr := make([]field.Elem, 3), make([]field.Elem, 2), make([]field.Elem, 2)
	for _, step := range []error{
		cpu.Project(ctx, b, r, br),   // B·r
		cpu.Project(ctx, a, br, abr), // A·(B·r)
		cpu.Project(ctx, c, r, cr),   // C·r
	} {
		if step != nil {
			fmt.Println(step)
			return
		}
	}
	fmt.Println(abr[0] == cr[0] && abr[1] == cr[1])
	// Output: true
}
