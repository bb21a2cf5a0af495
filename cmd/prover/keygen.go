package main

import (
	"encoding/hex"
	"fmt"

	"github.com/seed46f70faa/trainproof/internal/cli"
	"github.com/seed46f70faa/trainproof/prover"
)

func keygenCmd(args []string) error {
	fs := newFlags("keygen")
	out := fs.String("out", "", "where to write the private key (its public key goes to OUT.pub); neither may exist")
	if err := cli.Parse(fs, args, false); err != nil {
		return err
	}
	if *out == "" {
		return cli.Usagef("keygen needs --out KEY")
	}
	pub, err := prover.GenerateKey(*out)
	if err != nil {
		return err
	}
	fmt.Printf("public key: %s\n", hex.EncodeToString(pub))
	return nil
}
