package commit_test

import (
	"encoding/hex"
	"fmt"

	"github.com/seed46f70faa/trainproof/commit"
)

// A matrix's leaves: one BLAKE3 keyed hash a row, keyed by the matrix's
// domain, then a SHA-256 tree over them.
func ExampleHashRows() {
	const rows, rowBytes = 3, 2000
	data := make([]byte, rows*rowBytes) // the matrix's canonical bytes, row after row
	for i := range data {
		data[i] = byte(i % 251)
	}
	key := commit.RowKey([]byte("trainproof/v1/matrix"))
	leaves := make([]commit.Hash, rows)
	commit.HashRows(&key, data, rowBytes, leaves)
	fmt.Println(leaves[0] == commit.RowLeaf(&key, data[:rowBytes]))
	fmt.Println(hex.EncodeToString(leaves[0][:8]))
	root, _ := commit.Root(leaves)
	fmt.Println(len(root))
	// Output:
	// true
	// 74f11cdb2296d953
	// 32
}

// Checking one opened row against a root.
func ExampleRowLeaf() {
	key := commit.RowKey([]byte("example domain"))
	rows := [][]byte{[]byte("row 0"), []byte("row 1"), []byte("row 2")}
	leaves := make([]commit.Hash, len(rows))
	for i, r := range rows {
		leaves[i] = commit.RowLeaf(&key, r)
	}
	tree, _ := commit.New(leaves)
	path := tree.Path(1)
	fmt.Println(commit.Verify(tree.Root(), commit.RowLeaf(&key, []byte("row 1")), 1, len(rows), path))
	fmt.Println(commit.Verify(tree.Root(), commit.RowLeaf(&key, []byte("row 1")), 2, len(rows), path) != nil)
	// Output:
	// <nil>
	// true
}
