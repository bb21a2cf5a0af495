package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
)

// Session runs the challenge protocol of one step (protocol v2), identically
// for the prover and the verifier:
//
//  1. absorb task id, step number, step root and the signer's public key
//     (so that a bundle's challenges, and so its openings, belong to one
//     miner: a copied bundle cannot be re-signed by another); the state is
//     now the step's *commitment*;
//  2. squeeze r_p for every product p (ProductSpec.ChallengeLen);
//  3. the sampled rows of each group come from a seed: squeezed from the
//     transcript (Fiat–Shamir mode) or SHA-256("trainproof/v2/beacon" ‖
//     commitment ‖ nonce) (beacon mode).
//
// There are no prover answers: in v2 every vector that enters a Freivalds
// identity is computed by the verifier from matrices it holds whole, so no
// value the miner chooses after a challenge can absorb an error
// (docs/SOUNDNESS.md).
type Session struct {
	plan       *Plan
	tr         *Transcript
	R          [][]field.Elem // per product
	Commitment [32]byte
}

// NewSession starts the protocol for a committed step.
func NewSession(plan *Plan, taskID commit.Hash, step uint64, stepRoot commit.Hash, signer []byte) *Session {
	tr := NewTranscript()
	tr.Absorb("task", taskID[:])
	tr.Absorb("step", binary.BigEndian.AppendUint64(nil, step))
	tr.Absorb("root", stepRoot[:])
	tr.Absorb("signer", signer)
	s := &Session{plan: plan, tr: tr, Commitment: tr.State()}
	for i, p := range plan.Products {
		s.R = append(s.R, tr.Elems(fmt.Sprintf("r/%d", i), p.ChallengeLen()))
	}
	return s
}

// SampleSeed returns the row-sampling seed. In beacon mode nonce is the value
// issued for the step's Commitment; in Fiat–Shamir mode it is ignored.
func (s *Session) SampleSeed(nonce [32]byte) [32]byte {
	if s.plan.Task.Mode == ModeBeacon {
		return BeaconSeed(s.Commitment, nonce)
	}
	return s.tr.Seed("rows")
}

// BeaconSeed is SHA-256("trainproof/v2/beacon" ‖ commitment ‖ nonce).
func BeaconSeed(commitment, nonce [32]byte) [32]byte {
	b := append([]byte("trainproof/v2/beacon"), commitment[:]...)
	return sha256.Sum256(append(b, nonce[:]...))
}

// SampledRows returns, per group, the rows opened under seed.
func (p *Plan) SampledRows(seed [32]byte) [][]int {
	out := make([][]int, len(p.Groups))
	for g, gs := range p.Groups {
		out[g] = SampleRows(seed, g, gs.Rows, int(p.Task.Samples))
	}
	return out
}
