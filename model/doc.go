// Package model defines the exact integer semantics of trainproof's
// quantized multi-layer perceptron: its shapes, its initial weights, the
// batch it trains on at each step, and every element-wise function of a
// training step. The trainer (package train) and the verifier both use these
// functions, so "the step was computed correctly" has one meaning.
//
// # The step
//
// Dims are d_0 = 784, d_1 … d_{L−1} (Config.Layers), d_L = 10; b = Config.Batch.
//
//	X_i    = InputRow(image of example SampleIndex(t, i))                 b×784 int8
//	W_l    = ViewRow(M_l)                                                 int8 view of int32 master weights
//	Z_l    = A_{l−1}·W_l  (A_0 = X)                                       b×d_l int32
//	A_l    = ActRow(Z_l), l < L                                           b×d_l int8
//	G_L    = LossGradRow(Z_L, label)                                      b×10 int8
//	D_l    = G_{l+1}·W_{l+1}ᵀ, l < L                                      b×d_l int32
//	G_l    = BackActRow(D_l, Z_l), l < L                                  b×d_l int8
//	DW_l   = A_{l−1}ᵀ·G_l                                                 d_{l−1}×d_l int32
//	M′_l   = UpdateRow(M_l, DW_l)                                         d_{l−1}×d_l int32
//
// Products are int8×int8 with exact int32 accumulation. Every element-wise
// function is row-local: output row i depends only on input rows i (and the
// configuration and the step number), never on other rows, so a verifier
// can re-execute it on a single opened row. That rules out batch statistics
// and per-tensor scales; per-row normalisation (ActRow) is allowed and is
// what keeps activations in int8 without tuned forward scales.
//
// # Rounding
//
// roundShift(x, s) divides by 2^s rounding half away from zero (s ≤ 0
// multiplies by 2^−s); saturation clamps to the stated range. All arithmetic
// is on int64 intermediates, so nothing overflows. The exact definitions
// are the functions' doc comments; they are what docs/PROTOCOL.md refers to.
//
// # Config encoding
//
// See Config.AppendBinary. ParseConfig rejects anything that does not
// re-encode to the same bytes, and validates limits (MaxDim, MaxBatch,
// MaxLayers) before the caller allocates.
package model
