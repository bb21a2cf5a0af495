package evm

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"math/big"
	"reflect"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/seed46f70faa/trainproof/snark"
)

// Submission is one step for StepChain.
type Submission struct {
	Proof     groth16.Proof
	Statement *snark.StepStatement
	Miner     ed25519.PublicKey
}

// ChainResult is what StepChain measured.
type ChainResult struct {
	Gas      []uint64 // per accepted submitStep transaction
	Reverted []bool   // per submission: whether it reverted
	Reasons  []string // per submission: the revert reason ("" when accepted or none was given)
	// LastContext is the contract's lastContext after the submissions: the
	// Context input of the last accepted step (zero if none was).
	LastContext fr.Element
}

// StepChain compiles the exported verifier and the StepChain wrapper,
// deploys both on go-ethereum's simulated chain with the task's initial
// weight roots, and sends each submission as a transaction, in order, from
// one account that relays them all (the contract credits the miner whose
// key the submission names, not the sender).
func StepChain(solc string, vk groth16.VerifyingKey, initial []fr.Element, subs []Submission) (ChainResult, error) {
	var res ChainResult
	var src bytes.Buffer
	if err := vk.ExportSolidity(&src); err != nil {
		return res, err
	}
	cs, err := compile(solc, map[string][]byte{"Verifier.sol": src.Bytes(),
		"StepChain.sol": []byte(snark.StepChainSolidity(len(initial)))}, "Verifier", "StepChain")
	if err != nil {
		return res, err
	}
	c, err := newChain()
	if err != nil {
		return res, err
	}
	defer c.Close()
	vaddr, err := c.deploy(cs["Verifier"].bin)
	if err != nil {
		return res, err
	}
	sc := cs["StepChain"]
	ctorArgs, err := sc.abi.Pack("", vaddr, bigArray(initial))
	if err != nil {
		return res, err
	}
	caddr, err := c.deploy(append(sc.bin, ctorArgs...))
	if err != nil {
		return res, err
	}
	for _, s := range subs {
		p, ok := s.Proof.(*groth16bn254.Proof)
		if !ok {
			return res, errors.New("evm: not a BN254 Groth16 proof")
		}
		var mk [32]byte
		copy(mk[:], s.Miner)
		ctxIn := s.Statement.Context()
		data, err := sc.abi.Pack("submitStep", p.MarshalSolidity(), ctxIn.BigInt(new(big.Int)), mk, bigArray(s.Statement.MNext))
		if err != nil {
			return res, err
		}
		// A mined transaction's receipt has no revert reason: call first.
		_, callErr := c.client.CallContract(context.Background(), ethereum.CallMsg{From: c.from, To: &caddr, Gas: 3_000_000, Data: data}, nil)
		rc, err := c.send(&caddr, data, 3_000_000)
		if err != nil {
			return res, err
		}
		ok = rc.Status == types.ReceiptStatusSuccessful
		res.Reverted = append(res.Reverted, !ok)
		reason := ""
		if ok {
			res.Gas = append(res.Gas, rc.GasUsed)
		} else {
			reason = revertReason(callErr)
		}
		res.Reasons = append(res.Reasons, reason)
	}
	data, err := sc.abi.Pack("lastContext")
	if err != nil {
		return res, err
	}
	out, err := c.client.CallContract(context.Background(), ethereum.CallMsg{From: c.from, To: &caddr, Data: data}, nil)
	if err != nil {
		return res, err
	}
	last, err := sc.abi.Unpack("lastContext", out)
	if err != nil {
		return res, err
	}
	if b, ok := last[0].(*big.Int); ok {
		res.LastContext.SetBigInt(b)
	}
	return res, nil
}

// revertReason decodes the Error(string) reason of a reverted call, if it
// gave one.
func revertReason(err error) string {
	var de rpc.DataError
	if !errors.As(err, &de) {
		return ""
	}
	hex, ok := de.ErrorData().(string)
	if !ok {
		return ""
	}
	reason, err := abi.UnpackRevert(common.FromHex(hex))
	if err != nil {
		return ""
	}
	return reason
}

// bigArray is a fixed-size [n]*big.Int for the ABI encoder.
func bigArray(v []fr.Element) any {
	arr := reflect.New(reflect.ArrayOf(len(v), reflect.TypeOf(&big.Int{}))).Elem()
	for i := range v {
		arr.Index(i).Set(reflect.ValueOf(v[i].BigInt(new(big.Int))))
	}
	return arr.Interface()
}
