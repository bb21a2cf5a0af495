// Package evm runs trainproof's Solidity verifiers in a real EVM: it
// compiles gnark's exported Groth16 verifier (and the StepChain wrapper)
// with solc from npm, deploys them on go-ethereum's simulated chain and
// calls them. It is for tests, benchmarks and auditors; verifying a
// bundle needs only package snark, which does not import go-ethereum.
package evm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/witness"
	"github.com/ethereum/go-ethereum"
)

// Result is what running the exported Solidity verifier on a simulated
// chain measured.
type Result struct {
	Gas                  uint64 // of the honest verifyProof call
	TamperedProofReverts bool
	TamperedInputReverts bool
	ProofBytes, Contract int // calldata proof size, deployed code size
}

// FindSolc returns the npm solc compiler's path (make solc installs it under
// .tools), looking from dir upwards, or $SOLCJS.
func FindSolc(dir string) (string, error) {
	if p := os.Getenv("SOLCJS"); p != "" {
		return p, nil
	}
	for d, _ := filepath.Abs(dir); ; d = filepath.Dir(d) {
		p := filepath.Join(d, ".tools", "node_modules", ".bin", "solcjs")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if d == filepath.Dir(d) {
			return "", errors.New("evm: solcjs not found (make solc, or set SOLCJS)")
		}
	}
}

// Verify exports vk's verifier as Solidity, compiles it with solc,
// deploys it on go-ethereum's simulated backend and calls verifyProof with
// the proof and public witness, then with a tampered proof and a tampered
// input (which must revert).
func Verify(solc string, vk groth16.VerifyingKey, proof groth16.Proof, public witness.Witness) (Result, error) {
	var res Result
	var src bytes.Buffer
	if err := vk.ExportSolidity(&src); err != nil {
		return res, err
	}
	cs, err := compile(solc, map[string][]byte{"Verifier.sol": src.Bytes()}, "Verifier")
	if err != nil {
		return res, err
	}
	c, err := newChain()
	if err != nil {
		return res, err
	}
	defer c.Close()
	res.Contract = len(cs["Verifier"].bin)
	addr, err := c.deploy(cs["Verifier"].bin)
	if err != nil {
		return res, err
	}
	vec, ok := public.Vector().(fr.Vector)
	if !ok {
		return res, errors.New("evm: public witness is not over BN254")
	}
	inputs := make([]*big.Int, len(vec))
	for i := range vec {
		inputs[i] = vec[i].BigInt(new(big.Int))
	}
	p, ok := proof.(*groth16bn254.Proof)
	if !ok {
		return res, errors.New("evm: not a BN254 Groth16 proof")
	}
	proofBytes := p.MarshalSolidity()
	res.ProofBytes = len(proofBytes)
	call := func(pb []byte, in []*big.Int) (uint64, error) {
		arr := reflect.New(reflect.ArrayOf(len(in), reflect.TypeOf(&big.Int{}))).Elem()
		for i, x := range in {
			arr.Index(i).Set(reflect.ValueOf(x))
		}
		data, err := cs["Verifier"].abi.Pack("verifyProof", pb, arr.Interface())
		if err != nil {
			return 0, err
		}
		msg := ethereum.CallMsg{From: c.from, To: &addr, Data: data}
		if _, err := c.client.CallContract(context.Background(), msg, nil); err != nil {
			return 0, err
		}
		return c.client.EstimateGas(context.Background(), msg)
	}
	if res.Gas, err = call(proofBytes, inputs); err != nil {
		return res, fmt.Errorf("evm: the EVM verifier rejected an honest proof: %w", err)
	}
	bad := append([]byte(nil), proofBytes...)
	bad[40] ^= 1
	_, err = call(bad, inputs)
	res.TamperedProofReverts = err != nil
	badIn := append([]*big.Int(nil), inputs...)
	badIn[0] = new(big.Int).Add(badIn[0], big.NewInt(1))
	_, err = call(proofBytes, badIn)
	res.TamperedInputReverts = err != nil
	return res, nil
}
