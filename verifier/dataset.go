package verifier

import "github.com/seed46f70faa/trainproof/commit"

// FashionMNISTRoot is the Merkle root (docs/PROTOCOL.md §2) of the 60 000
// Fashion-MNIST training examples as Debian's dataset-fashion-mnist ships
// them (train-images-idx3-ubyte, train-labels-idx1-ubyte). Train tasks must
// name it unless Options.DatasetRoot says otherwise. It was computed
// independently of this code base (a short Python script over the IDX files,
// see docs/PROTOCOL.md) and is checked against prover.DatasetTree in tests.
var FashionMNISTRoot = commit.Hash{
	0xa7, 0x40, 0x59, 0x43, 0x58, 0xde, 0x42, 0x2d, 0xb2, 0xd4, 0x91, 0x4e, 0x94, 0x6f, 0xb6, 0xc3,
	0x33, 0xb2, 0x0d, 0xec, 0x53, 0xdc, 0x4f, 0x49, 0xc9, 0x0f, 0xfa, 0x16, 0x6c, 0x4b, 0x6d, 0xb2,
}
