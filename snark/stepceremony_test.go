package snark_test

import (
	"crypto/ed25519"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
)

// TestStepCeremony: keys for the tiny step circuit from a two-phase
// multi-party ceremony (the circuit uses a commitment, which gnark's
// mpcsetup handles) prove a step that verifies. Its powers of tau have
// 2^18 points, so phase 1 takes longer than CI allows: it runs with
// TRAINPROOF_SLOW=1 (docs/BENCHMARKS.md has its time). TestCeremony runs
// the same code on a matmul circuit in every go test.
func TestStepCeremony(t *testing.T) {
	if os.Getenv("TRAINPROOF_SLOW") == "" {
		t.Skip("set TRAINPROOF_SLOW=1 (minutes on 2 cores)")
	}
	t0 := time.Now()
	defer func() { t.Logf("step ceremony, one contributor per phase, with proof: %v", time.Since(t0)) }()
	cfg := tinyConfig()
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: 1, Train: cfg}
	dir := t.TempDir()
	c, err := snark.InitStepCeremony(dir, snark.StepShapeOf(task))
	require.NoError(t, err)
	_, err = c.Contribute()
	require.NoError(t, err)
	require.NoError(t, c.SealPhase1With(snark.Beacon{Value: []byte("step ceremony beacon 1"), Source: "a test"}))
	c2, err := snark.OpenCeremony(dir)
	require.NoError(t, err)
	require.NotNil(t, c2.Step)
	_, err = c2.Contribute()
	require.NoError(t, err)
	beacon2 := snark.Beacon{Value: []byte("step ceremony beacon 2"), Source: "a test"}
	_, err = c2.FinalizeWith(beacon2)
	require.Error(t, err, "a step ceremony gives step keys")
	n, err := c2.Verify()
	require.NoError(t, err)
	require.Equal(t, 1, n)
	k, err := c2.FinalizeStepWith(beacon2)
	require.NoError(t, err)
	require.False(t, k.IsDev())
	tr, err := c2.Transcript()
	require.NoError(t, err)
	require.Equal(t, tr.Hash, k.Origin.Transcript)
	vkb, err := k.MarshalVK()
	require.NoError(t, err)
	_, vk, err := snark.ParseStepVK(vkb)
	require.NoError(t, err, "ceremony keys with a commitment pass the layout checks")

	data, tree := synthData()
	pub, key, _ := ed25519.GenerateKey(nil)
	w, err := snark.NewStepWitness(task, pub, trace(t, cfg, 1), data, tree)
	require.NoError(t, err)
	enc, err := snark.ProveStep(k, task, w, key)
	require.NoError(t, err)
	s, err := snark.DecodeSuccinct(enc)
	require.NoError(t, err)
	_, err = snark.VerifyStep(s, k.Shape, vk, tree.Root(), nil)
	require.NoError(t, err)
}
