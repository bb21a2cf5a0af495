package model_test

import (
	"fmt"

	"github.com/seed46f70faa/trainproof/model"
)

// A configuration travels in tasks as its canonical encoding.
func ExampleParseConfig() {
	cfg := model.DefaultConfig()
	enc := cfg.AppendBinary(nil)
	got, n, err := model.ParseConfig(enc)
	fmt.Println(got.Dims(), got.Batch, n == len(enc), err)
	// Output: [784 256 128 10] 128 true <nil>
}

// The verifier re-executes a row function on one opened row.
func ExampleConfig_ActRow() {
	cfg := model.DefaultConfig()
	z := []int32{-300, 0, 700, 2000}
	a := make([]int8, len(z))
	cfg.ActRow(1, z, a)
	fmt.Println(model.ActShift(z), a)
	// Output: 4 [0 0 44 125]
}
