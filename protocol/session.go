package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
)

// Answer is the prover's reply to one product's Freivalds challenge:
//
//	C = C·r (length M), Q = op(B)·r (length K),
//	W = B·s (length N, only when B is used transposed),
//	Y = A·t (length K, only when A is used transposed).
//
// Every entry is checkable on single rows of a committed matrix, which is
// what lets a verifier that holds only a few opened rows check a product.
type Answer struct {
	C, Q, W, Y []field.Elem
}

// Vectors lists the answer's vectors in bundle order.
func (a *Answer) Vectors() []*[]field.Elem {
	v := []*[]field.Elem{&a.C, &a.Q}
	if a.W != nil {
		v = append(v, &a.W)
	}
	if a.Y != nil {
		v = append(v, &a.Y)
	}
	return v
}

// Session runs the challenge protocol of one step, identically for the
// prover and the verifier:
//
//  1. absorb task id, step number, step root and the signer's public key
//     (so that a bundle's challenges, and so its openings, belong to one
//     miner: a copied bundle cannot be re-signed by another); squeeze r_p
//     (length N_p) for every product p;
//  2. absorb every product's C and Q; squeeze s_p (length K_p) where B is
//     transposed and t_p (length M_p) where A is transposed;
//  3. absorb every W and Y; the transcript state is now the answer commitment;
//  4. the sampled rows of each group come from a seed: squeezed from the
//     transcript (Fiat–Shamir mode) or SHA-256("trainproof/v1/beacon" ‖
//     answer commitment ‖ nonce) (beacon mode).
type Session struct {
	plan    *Plan
	tr      *Transcript
	R, S, T [][]field.Elem // per product; S[p], T[p] nil where unused
	stage   int
}

// NewSession starts the protocol for a committed step.
func NewSession(plan *Plan, taskID commit.Hash, step uint64, stepRoot commit.Hash, signer []byte) *Session {
	tr := NewTranscript()
	tr.Absorb("task", taskID[:])
	tr.Absorb("step", binary.BigEndian.AppendUint64(nil, step))
	tr.Absorb("root", stepRoot[:])
	tr.Absorb("signer", signer)
	s := &Session{plan: plan, tr: tr}
	for i, p := range plan.Products {
		s.R = append(s.R, tr.Elems(fmt.Sprintf("r/%d", i), p.N))
	}
	return s
}

// RoundOne absorbs every product's C and Q and derives S and T.
func (s *Session) RoundOne(ans []Answer) error {
	if s.stage != 0 || len(ans) != len(s.plan.Products) {
		return fmt.Errorf("protocol: round one out of order or %d answers for %d products", len(ans), len(s.plan.Products))
	}
	for i, p := range s.plan.Products {
		if len(ans[i].C) != p.M || len(ans[i].Q) != p.K {
			return fmt.Errorf("protocol: product %q answer has wrong length", p.Name)
		}
		s.tr.AbsorbElems(fmt.Sprintf("c/%d", i), ans[i].C)
		s.tr.AbsorbElems(fmt.Sprintf("q/%d", i), ans[i].Q)
	}
	s.S = make([][]field.Elem, len(ans))
	s.T = make([][]field.Elem, len(ans))
	for i, p := range s.plan.Products {
		if p.B.Trans {
			s.S[i] = s.tr.Elems(fmt.Sprintf("s/%d", i), p.K)
		}
		if p.A.Trans {
			s.T[i] = s.tr.Elems(fmt.Sprintf("t/%d", i), p.M)
		}
	}
	s.stage = 1
	return nil
}

// RoundTwo absorbs every W and Y and returns the answer commitment.
func (s *Session) RoundTwo(ans []Answer) ([32]byte, error) {
	if s.stage != 1 {
		return [32]byte{}, fmt.Errorf("protocol: round two out of order")
	}
	for i, p := range s.plan.Products {
		if p.B.Trans != (ans[i].W != nil) || p.A.Trans != (ans[i].Y != nil) ||
			(p.B.Trans && len(ans[i].W) != p.N) || (p.A.Trans && len(ans[i].Y) != p.K) {
			return [32]byte{}, fmt.Errorf("protocol: product %q answer has wrong shape", p.Name)
		}
		if p.B.Trans {
			s.tr.AbsorbElems(fmt.Sprintf("w/%d", i), ans[i].W)
		}
		if p.A.Trans {
			s.tr.AbsorbElems(fmt.Sprintf("y/%d", i), ans[i].Y)
		}
	}
	s.stage = 2
	return s.tr.State(), nil
}

// SampleSeed returns the row-sampling seed (after RoundTwo). In beacon mode
// nonce is the value supplied after the answer commitment; in Fiat–Shamir
// mode it is ignored.
func (s *Session) SampleSeed(nonce [32]byte) [32]byte {
	if s.plan.Task.Mode == ModeBeacon {
		st := s.tr.State()
		return BeaconSeed(st, nonce)
	}
	return s.tr.Seed("rows")
}

// BeaconSeed is SHA-256("trainproof/v1/beacon" ‖ answer commitment ‖ nonce).
func BeaconSeed(commitment, nonce [32]byte) [32]byte {
	b := append([]byte("trainproof/v1/beacon"), commitment[:]...)
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
