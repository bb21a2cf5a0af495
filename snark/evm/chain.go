package evm

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

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
}

// StepChain compiles the exported verifier and the StepChain wrapper,
// deploys both on go-ethereum's simulated chain with the task's initial
// weight roots, and sends each submission as a transaction, in order.
func StepChain(solc string, vk groth16.VerifyingKey, initial []fr.Element, subs []Submission) (ChainResult, error) {
	var res ChainResult
	L := len(initial)
	dir, err := os.MkdirTemp("", "trainproof-evmchain")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	var src bytes.Buffer
	if err := vk.ExportSolidity(&src); err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(dir, "Verifier.sol"), src.Bytes(), 0o644); err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(dir, "StepChain.sol"), []byte(snark.StepChainSolidity(L)), 0o644); err != nil {
		return res, err
	}
	cmd := exec.Command(solc, "--optimize", "--bin", "--abi", "--base-path", dir, "-o", dir,
		filepath.Join(dir, "Verifier.sol"), filepath.Join(dir, "StepChain.sol"))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return res, fmt.Errorf("evm: solc: %v: %s", err, out)
	}
	read := func(suffix string) ([]byte, error) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) {
				return os.ReadFile(filepath.Join(dir, e.Name()))
			}
		}
		return nil, fmt.Errorf("evm: solc wrote no %s", suffix)
	}
	vcode, err := read("_Verifier.bin")
	if err != nil {
		return res, err
	}
	ccode, err := read("_StepChain.bin")
	if err != nil {
		return res, err
	}
	cabi, err := read("_StepChain.abi")
	if err != nil {
		return res, err
	}
	parsed, err := abi.JSON(bytes.NewReader(cabi))
	if err != nil {
		return res, err
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		return res, err
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	sim := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 100)}})
	defer sim.Close()
	client := sim.Client()
	vaddr, err := deploy(client, sim, key, common.FromHex(strings.TrimSpace(string(vcode))))
	if err != nil {
		return res, err
	}
	ctorArgs, err := parsed.Pack("", vaddr, bigArray(initial))
	if err != nil {
		return res, err
	}
	caddr, err := deploy(client, sim, key, append(common.FromHex(strings.TrimSpace(string(ccode))), ctorArgs...))
	if err != nil {
		return res, err
	}
	ctx := context.Background()
	chain, err := client.ChainID(ctx)
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
		data, err := parsed.Pack("submitStep", p.MarshalSolidity(), ctxIn.BigInt(new(big.Int)), mk, bigArray(s.Statement.MNext))
		if err != nil {
			return res, err
		}
		nonce, err := client.PendingNonceAt(ctx, from)
		if err != nil {
			return res, err
		}
		price, err := client.SuggestGasPrice(ctx)
		if err != nil {
			return res, err
		}
		tx, err := types.SignTx(types.NewTransaction(nonce, caddr, big.NewInt(0), 3_000_000, price, data), types.NewEIP155Signer(chain), key)
		if err != nil {
			return res, err
		}
		if err := client.SendTransaction(ctx, tx); err != nil {
			return res, err
		}
		sim.Commit()
		rc, err := client.TransactionReceipt(ctx, tx.Hash())
		if err != nil {
			return res, err
		}
		ok = rc.Status == types.ReceiptStatusSuccessful
		res.Reverted = append(res.Reverted, !ok)
		if ok {
			res.Gas = append(res.Gas, rc.GasUsed)
		}
	}
	return res, nil
}

// bigArray is a fixed-size [n]*big.Int for the ABI encoder.
func bigArray(v []fr.Element) any {
	arr := reflect.New(reflect.ArrayOf(len(v), reflect.TypeOf(&big.Int{}))).Elem()
	for i := range v {
		arr.Index(i).Set(reflect.ValueOf(v[i].BigInt(new(big.Int))))
	}
	return arr.Interface()
}
