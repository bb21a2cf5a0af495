package evm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
)

// contract is one compiled contract: its creation code and its ABI.
type contract struct {
	bin []byte
	abi abi.ABI
}

// compile writes the Solidity sources (file name → text) into a temporary
// directory, compiles them with solc and returns the named contracts.
func compile(solc string, sources map[string][]byte, names ...string) (map[string]contract, error) {
	dir, err := os.MkdirTemp("", "trainproof-evm")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args := []string{"--optimize", "--bin", "--abi", "--base-path", dir, "-o", dir}
	for f, src := range sources {
		if err := os.WriteFile(filepath.Join(dir, f), src, 0o644); err != nil {
			return nil, err
		}
		args = append(args, filepath.Join(dir, f))
	}
	cmd := exec.Command(solc, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("evm: solc: %v: %s", err, out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	read := func(suffix string) ([]byte, error) {
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) {
				return os.ReadFile(filepath.Join(dir, e.Name()))
			}
		}
		return nil, fmt.Errorf("evm: solc wrote no %s", suffix)
	}
	out := map[string]contract{}
	for _, n := range names {
		bin, err := read("_" + n + ".bin")
		if err != nil {
			return nil, err
		}
		abiJSON, err := read("_" + n + ".abi")
		if err != nil {
			return nil, err
		}
		parsed, err := abi.JSON(bytes.NewReader(abiJSON))
		if err != nil {
			return nil, err
		}
		out[n] = contract{bin: common.FromHex(strings.TrimSpace(string(bin))), abi: parsed}
	}
	return out, nil
}

// chain is go-ethereum's simulated chain with one funded account.
type chain struct {
	sim    *simulated.Backend
	client simulated.Client
	key    *ecdsa.PrivateKey
	from   common.Address
}

func newChain() (*chain, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	sim := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 100)}})
	return &chain{sim: sim, client: sim.Client(), key: key, from: from}, nil
}

func (c *chain) Close() { c.sim.Close() }

// send signs a transaction (to nil: a contract creation), mines it and
// returns its receipt.
func (c *chain) send(to *common.Address, data []byte, gas uint64) (*types.Receipt, error) {
	ctx := context.Background()
	nonce, err := c.client.PendingNonceAt(ctx, c.from)
	if err != nil {
		return nil, err
	}
	price, err := c.client.SuggestGasPrice(ctx)
	if err != nil {
		return nil, err
	}
	id, err := c.client.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	var tx *types.Transaction
	if to == nil {
		tx = types.NewContractCreation(nonce, big.NewInt(0), gas, price, data)
	} else {
		tx = types.NewTransaction(nonce, *to, big.NewInt(0), gas, price, data)
	}
	if tx, err = types.SignTx(tx, types.NewEIP155Signer(id), c.key); err != nil {
		return nil, err
	}
	if err := c.client.SendTransaction(ctx, tx); err != nil {
		return nil, err
	}
	c.sim.Commit()
	return c.client.TransactionReceipt(ctx, tx.Hash())
}

// deploy creates a contract from its code and constructor arguments.
func (c *chain) deploy(code []byte) (common.Address, error) {
	rc, err := c.send(nil, code, 10_000_000)
	if err != nil {
		return common.Address{}, err
	}
	if rc.Status != types.ReceiptStatusSuccessful {
		return common.Address{}, errors.New("evm: contract deployment failed")
	}
	return rc.ContractAddress, nil
}
