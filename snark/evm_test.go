package snark

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/stretchr/testify/require"
)

// solcjs finds the npm solc compiler (.ci/run installs it under .tools).
func solcjs(t *testing.T) string {
	for _, p := range []string{"../.tools/node_modules/.bin/solcjs", os.Getenv("SOLCJS")} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			abs, _ := filepath.Abs(p)
			return abs
		}
	}
	if os.Getenv("TRAINPROOF_REQUIRE_EVM") != "" {
		t.Fatal("solcjs not installed: npm install --prefix .tools solc@0.8.37")
	}
	t.Skip("solcjs not installed (npm install --prefix .tools solc@0.8.37)")
	return ""
}

// TestOpeningVerifiedInEVM exports the Groth16 verifier of the opening
// circuit as Solidity, compiles it with solc, deploys it on go-ethereum's
// simulated chain and calls verifyProof: an honest proof passes, a tampered
// proof or public input reverts. It logs the gas.
func TestOpeningVerifiedInEVM(t *testing.T) {
	circuit, good := fixture(t, 16, 8, 11)
	gas := evmVerify(t, circuit, good)
	t.Logf("EVM verifyProof, row opening (10 public inputs): %d gas", gas)
}

// TestMatMulVerifiedInEVM: the matmul-unit circuit's verifier on chain.
func TestMatMulVerifiedInEVM(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	a, b, c := randUnit(4, testShape)
	w, err := NewMatMulWitness(testShape, a, b, c)
	require.NoError(t, err)
	circuit, err := NewMatMulCircuit(testShape)
	require.NoError(t, err)
	gas := evmVerify(t, circuit, w.Assignment())
	t.Logf("EVM verifyProof, matmul unit %+v (3 public inputs): %d gas", testShape, gas)
}

// evmVerify proves assignment, exports the verifier as Solidity, compiles it
// with solc, deploys it on go-ethereum's simulated chain and calls
// verifyProof: the honest proof must pass, a tampered proof or public input
// must revert. It returns the gas of the honest call.
func evmVerify(t *testing.T, circuit, assignment frontend.Circuit) uint64 {
	solc := solcjs(t)
	cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	require.NoError(t, err)
	pk, vk, err := groth16.Setup(cs)
	require.NoError(t, err)
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	require.NoError(t, err)
	proof, err := groth16.Prove(cs, pk, w)
	require.NoError(t, err)

	dir := t.TempDir()
	var src bytes.Buffer
	require.NoError(t, vk.ExportSolidity(&src))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Verifier.sol"), src.Bytes(), 0o644))
	cmd := exec.Command(solc, "--optimize", "--bin", "--abi", "-o", dir, filepath.Join(dir, "Verifier.sol"))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var binFile, abiFile string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_Verifier.bin") {
			binFile = filepath.Join(dir, e.Name())
		}
		if strings.HasSuffix(e.Name(), "_Verifier.abi") {
			abiFile = filepath.Join(dir, e.Name())
		}
	}
	require.NotEmpty(t, binFile, "solc wrote no Verifier bytecode: %v", entries)
	code, err := os.ReadFile(binFile)
	require.NoError(t, err)
	abiJSON, err := os.ReadFile(abiFile)
	require.NoError(t, err)
	parsed, err := abi.JSON(bytes.NewReader(abiJSON))
	require.NoError(t, err)

	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	from := crypto.PubkeyToAddress(key.PublicKey)
	sim := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 100)}})
	defer sim.Close()
	client := sim.Client()
	addr := deploy(t, client, sim, key, common.FromHex(strings.TrimSpace(string(code))))

	inputs := publicInputs(t, w)
	proofBytes := proof.(*groth16bn254.Proof).MarshalSolidity()
	call := func(p []byte, in []*big.Int) (uint64, error) {
		arr := reflect.New(reflect.ArrayOf(len(in), reflect.TypeOf(&big.Int{}))).Elem()
		for i, x := range in {
			arr.Index(i).Set(reflect.ValueOf(x))
		}
		data, err := parsed.Pack("verifyProof", p, arr.Interface())
		require.NoError(t, err)
		msg := ethereum.CallMsg{From: from, To: &addr, Data: data}
		if _, err := client.CallContract(context.Background(), msg, nil); err != nil {
			return 0, err
		}
		return client.EstimateGas(context.Background(), msg)
	}
	gas, err := call(proofBytes, inputs)
	require.NoError(t, err, "honest proof rejected by the EVM verifier")

	bad := append([]byte(nil), proofBytes...)
	bad[40] ^= 1
	_, err = call(bad, inputs)
	require.Error(t, err, "tampered proof accepted")
	badIn := append([]*big.Int(nil), inputs...)
	badIn[0] = new(big.Int).Add(badIn[0], big.NewInt(1))
	_, err = call(proofBytes, badIn)
	require.Error(t, err, "tampered public input accepted")
	return gas
}

func publicInputs(t *testing.T, w witnessPublic) []*big.Int {
	pub, err := w.Public()
	require.NoError(t, err)
	vec, ok := pub.Vector().(fr.Vector)
	require.True(t, ok)
	out := make([]*big.Int, len(vec))
	for i := range vec {
		out[i] = vec[i].BigInt(new(big.Int))
	}
	return out
}

type witnessPublic interface {
	Public() (witness.Witness, error)
}

func deploy(t *testing.T, client simulated.Client, sim *simulated.Backend, key *ecdsa.PrivateKey, code []byte) common.Address {
	ctx := context.Background()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := client.PendingNonceAt(ctx, from)
	require.NoError(t, err)
	price, err := client.SuggestGasPrice(ctx)
	require.NoError(t, err)
	chain, err := client.ChainID(ctx)
	require.NoError(t, err)
	tx, err := types.SignTx(types.NewContractCreation(nonce, big.NewInt(0), 10_000_000, price, code), types.NewEIP155Signer(chain), key)
	require.NoError(t, err)
	require.NoError(t, client.SendTransaction(ctx, tx))
	sim.Commit()
	rc, err := client.TransactionReceipt(ctx, tx.Hash())
	require.NoError(t, err)
	require.Equal(t, types.ReceiptStatusSuccessful, rc.Status, "verifier deployment failed")
	return rc.ContractAddress
}
