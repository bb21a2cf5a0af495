// Package protocol is the part of trainproof that prover and verifier must
// agree on byte for byte: tasks and task ids, the plan of a work unit (which
// matrices are committed, how their rows group, which products are checked),
// domains of the Merkle trees, the Fiat–Shamir transcript, the Freivalds
// challenges and the row sampling. docs/PROTOCOL.md specifies all of it.
//
// Everything here is deterministic and pure Go; nothing allocates more than
// the plan of a validated task (whose limits are MaxDim, MaxMatrixElems and
// MaxSamples) implies.
package protocol
