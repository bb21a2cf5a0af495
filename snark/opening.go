package snark

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash/poseidon2"
)

// OpenRow is the row-opening gadget: it asserts that row (int32 values as
// field elements) is leaf index of the Poseidon2 tree with the given root,
// with index given by its bits (least significant first, one per level),
// and returns Σ row[j]·r[j], the row's projection onto r.
func OpenRow(api frontend.API, root frontend.Variable, row []frontend.Variable, indexBits []frontend.Variable,
	path []frontend.Variable, r []frontend.Variable) (frontend.Variable, error) {
	return OpenRowBits(api, 32, root, row, indexBits, path, r)
}

// OpenRowBits is OpenRow for signed values of the given bit width (8 for
// int8 rows, 32 for int32 rows).
func OpenRowBits(api frontend.API, width int, root frontend.Variable, row []frontend.Variable, indexBits []frontend.Variable,
	path []frontend.Variable, r []frontend.Variable) (frontend.Variable, error) {
	h, err := poseidon2.New(api)
	if err != nil {
		return nil, err
	}
	for _, x := range row {
		// Range-checked so a prover cannot open a field element that no
		// row of this type could hash to the same leaf.
		api.ToBinary(api.Add(x, 1<<(width-1)), width)
	}
	h.Write(row...)
	node := h.Sum()
	for lvl, sib := range path {
		api.AssertIsBoolean(indexBits[lvl])
		left := api.Select(indexBits[lvl], sib, node)
		right := api.Select(indexBits[lvl], node, sib)
		h.Reset()
		h.Write(left, right)
		node = h.Sum()
	}
	api.AssertIsEqual(node, root)
	var acc frontend.Variable = 0
	for j, x := range row {
		acc = api.Add(acc, api.Mul(x, r[j]))
	}
	return acc, nil
}

// OpeningCircuit proves that one row opens against Root and projects onto R
// to Projection: the unit a step circuit repeats for every sampled row.
type OpeningCircuit struct {
	Root       frontend.Variable   `gnark:",public"`
	Projection frontend.Variable   `gnark:",public"`
	R          []frontend.Variable `gnark:",public"`
	Row        []frontend.Variable
	IndexBits  []frontend.Variable
	Path       []frontend.Variable
}

// NewOpeningCircuit allocates a circuit for rows of cols elements in a tree of the given depth.
func NewOpeningCircuit(cols, depth int) *OpeningCircuit {
	return &OpeningCircuit{R: make([]frontend.Variable, cols), Row: make([]frontend.Variable, cols),
		IndexBits: make([]frontend.Variable, depth), Path: make([]frontend.Variable, depth)}
}

func (c *OpeningCircuit) Define(api frontend.API) error {
	p, err := OpenRow(api, c.Root, c.Row, c.IndexBits, c.Path, c.R)
	if err != nil {
		return err
	}
	api.AssertIsEqual(p, c.Projection)
	return nil
}
