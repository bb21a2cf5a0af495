package snark

import (
	"encoding/hex"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// FashionMNISTRootHex is the Poseidon2 data-set root (NewDataTree) of the
// 60 000 Fashion-MNIST training examples as Debian's dataset-fashion-mnist
// ships them: the Data input of every step proof over that set.
// TestFashionMNISTRoot recomputes it from the files.
const FashionMNISTRootHex = "2e00524e05c7de50afc7a87a48b85f46a24996b4848c75644b0b0bdd3feeb7c7"

// FashionMNISTRoot is FashionMNISTRootHex as a field element.
func FashionMNISTRoot() fr.Element {
	b, err := hex.DecodeString(FashionMNISTRootHex)
	if err != nil {
		panic(err)
	}
	var e fr.Element
	if err := e.SetBytesCanonical(b); err != nil {
		panic(err)
	}
	return e
}
