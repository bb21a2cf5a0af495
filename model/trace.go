package model

import "github.com/seed46f70faa/trainproof/tensor"

// Trace is every matrix of one training step (L = len(Dims())−1 layers).
type Trace struct {
	Step   uint64
	Index  []int           // training example of each batch row
	Labels []uint8         // its label
	X      *tensor.Int8    // A_0: the input batch, b×784
	Z      []*tensor.Int32 // Z[l−1] = Z_l = A_{l−1}·W_l, l = 1..L
	A      []*tensor.Int8  // A[l−1] = A_l = ActRow(Z_l), l = 1..L−1
	G      []*tensor.Int8  // G[L−1] = LossGradRow(Z_L); G[l−1] = BackActRow(D_l, Z_l)
	D      []*tensor.Int32 // D[l−1] = D_l = G_{l+1}·W_{l+1}ᵀ, l = 1..L−1
	M      []*tensor.Int32 // M[l−1]: master weights the step starts from
	W      []*tensor.Int8  // W[l−1] = ViewRow(M_l)
	DW     []*tensor.Int32 // DW[l−1] = A_{l−1}ᵀ·G_l
	MNext  []*tensor.Int32 // MNext[l−1] = UpdateRow(M_l, DW_l)
}
