package snark_test

import (
	"encoding/hex"
	"fmt"
	"os"

	"github.com/seed46f70faa/trainproof/snark"
)

// A ceremony from start to keys. In practice each call runs on another
// machine, the directory passed along; everyone runs Verify before they
// contribute, and each contributor notes the digest of their file to find
// it in the published transcript. (Not run: phase 2 takes minutes.)
func ExampleCeremony() {
	dir, _ := os.MkdirTemp("", "ceremony")
	c, err := snark.InitCeremony(dir, snark.MatMulShape{M: 8, K: 8, N: 8, S: 2})
	if err != nil {
		panic(err)
	}
	for range 2 { // phase 1: contributors, one after another
		if _, err := c.Verify(); err != nil {
			panic(err)
		}
		if _, err := c.Contribute(); err != nil {
			panic(err)
		}
	}
	// A value no contributor could know when they contributed.
	beacon1 := snark.Beacon{Value: []byte("a later block hash, 32 bytes.."), Source: "chain X block 1000"}
	if err := c.SealPhase1With(beacon1); err != nil {
		panic(err)
	}
	if _, err := c.Contribute(); err != nil { // phase 2
		panic(err)
	}
	keys, err := c.FinalizeWith(snark.Beacon{Value: []byte("a later block hash, 32 bytes.."), Source: "chain X block 2000"})
	if err != nil {
		panic(err)
	}
	tr, _ := c.Transcript()
	for _, f := range tr.Files {
		fmt.Printf("%x  %s\n", f.SHA256, f.Name)
	}
	fmt.Println("transcript", hex.EncodeToString(tr.Hash[:]))

	// A node checks a published key against the verified transcript, and
	// refuses development keys unless told otherwise.
	vk, _ := keys.MarshalVK()
	if err := c.CheckVK(vk); err != nil {
		panic(err)
	}
	o, _ := snark.KeyOriginOf(vk)
	fmt.Println(o.Check(false))
}
