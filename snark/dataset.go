package snark

import (
	"encoding/hex"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// FashionMNISTPoseidon2RootHex is the Poseidon2 data-set root (NewDataTree) of the
// 60 000 Fashion-MNIST training examples as Debian's dataset-fashion-mnist
// ships them: the Data input of every step proof over that set.
// TestFashionMNISTRoot recomputes it from the files.
const FashionMNISTPoseidon2RootHex = "2e00524e05c7de50afc7a87a48b85f46a24996b4848c75644b0b0bdd3feeb7c7"

// FashionMNISTPoseidon2Root is FashionMNISTPoseidon2RootHex as a field
// element. It is not verifier.FashionMNISTRoot: that is the SHA-256 tree of
// the same examples, which sampled and full bundles open against; this is
// the Poseidon2 tree the step circuit opens against.
func FashionMNISTPoseidon2Root() fr.Element {
	b, err := hex.DecodeString(FashionMNISTPoseidon2RootHex)
	if err != nil {
		panic(err)
	}
	var e fr.Element
	if err := e.SetBytesCanonical(b); err != nil {
		panic(err)
	}
	return e
}
