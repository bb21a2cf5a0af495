// Package model defines the exact integer semantics of trainproof's
// quantized multi-layer perceptron: its shapes, its initial weights, the
// batch it trains on at each step, and every element-wise function of a
// training step. The trainer (package train) and the verifier both use these
// functions, so "the step was computed correctly" has one meaning. The
// package is pure Go with no dependencies beyond package tensor and the
// standard library, and no floating point outside FloatLoss (reporting).
//
// # The step
//
// Dims are d_0 = 784, d_1 … d_{L−1} (Config.Layers), d_L = 10; b = Config.Batch;
// t is the step number (0, 1, …).
//
//	idx_i  = SampleIndex(t, i), i < b                                     training example of row i
//	X_i    = InputRow(image idx_i)                                        b×784 int8 (A_0 = X)
//	W_l    = ViewRow(M_l)                                                 int8 view of int32 master weights
//	Z_l    = A_{l−1}·W_l                                                  b×d_l int32
//	A_l    = ActRow(Z_l), l < L                                           b×d_l int8
//	G_L    = LossGradRow(Z_L, label)                                      b×10 int8
//	D_l    = G_{l+1}·W_{l+1}ᵀ, l < L                                      b×d_l int32
//	G_l    = BackActRow(D_l, Z_l), l < L                                  b×d_l int8
//	DW_l   = A_{l−1}ᵀ·G_l                                                 d_{l−1}×d_l int32
//	M′_l   = UpdateRow(M_l, DW_l, t)                                      d_{l−1}×d_l int32
//
// M_l of step 0 is InitRow, row by row; M_l of step t+1 is M′_l of step t.
// Products are int8×int8 with exact int32 accumulation (no overflow: every
// inner dimension is at most max(MaxDim, MaxBatch) = 65 536 and every
// operand at most 127 in magnitude).
//
// Every element-wise function is row-local: output row i depends only on
// input rows i (and the configuration and the step number), never on other
// rows, so a verifier can re-execute it on a single opened row. That rules
// out batch statistics and per-tensor scales. Per-row normalisation is
// allowed, and is what keeps activations in int8 without tuned forward
// scales: ActRow scales each row by 2^−ActShift(row), and BackActRow
// applies the same row's scale to the gradient, which makes the backward
// pass the derivative of the forward one.
//
// # Rounding and saturation
//
// roundShift(x, s) divides by 2^s rounding half away from zero (s ≤ 0
// multiplies by 2^−s); clamp saturates. Arithmetic is on int64
// intermediates, so nothing wraps. The exact definitions are the doc
// comments of InputRow, ViewRow, ActShift, ActRow, LossGradRow, BackActRow,
// LRShiftAt, UpdateRow, InitRow and SampleIndex; docs/PROTOCOL.md refers to
// them. Summary:
//
//	InputRow     x_j = (pixel_j >> 1) − InputOffset                    exact, in [−127, 127]
//	ViewRow      w_j = clamp(roundShift(m_j, WeightShift), ±127)
//	ActShift(z)  smallest s ≥ −7 with roundShift(max(0, max z), s) ≤ 127
//	ActRow       a_j = roundShift(max(z_j, 0), ActShift(z))            in [0, 127]
//	LossGradRow  g_j = round-half-up(127·softmax₂(z >> LogitShift)_j) − 127·[j = label]
//	             (softmax in base 2 with logits in 1/16 bit, from a 16-entry 2^x table)
//	BackActRow   g_j = [z_j > 0]·clamp(roundShift(d_j, ActShift(z) + GradShift(l) − 10), ±127)
//	UpdateRow    m′_j = clamp(m_j − roundShift(dw_j, LRShiftAt(t)) − decay_j, ±(127 << WeightShift))
//
// # Config encoding
//
// See Config.AppendBinary. ParseConfig checks counts before it allocates,
// validates limits (MaxDim, MaxBatch, MaxLayers and every hyper-parameter's
// range), and accepts only bytes that re-encode to themselves.
package model
