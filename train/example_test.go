package train_test

import (
	"context"
	"fmt"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/train"
)

// Train the default model for a few hundred steps and measure it on the
// test set.
func Example() {
	trainSet, testSet, err := dataset.Load(dataset.DefaultDir)
	if err != nil {
		fmt.Println(err) // dataset.ErrNotFound says how to install it
		return
	}
	t, err := train.New(model.DefaultConfig(), trainSet, matmul.NewCPU())
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for t.NextStep() < 300 {
		trace, err := t.Step(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		_ = trace // commit to trace's matrices here
	}
	acc, _, err := t.Evaluate(ctx, testSet)
	fmt.Println(acc > 0.8, err)
}
