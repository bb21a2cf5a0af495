// Package verifier checks trainproof proof bundles. It is what network
// builders import into their nodes: pure Go, builds with CGO_ENABLED=0, and
// imports neither the prover, nor the trainer, nor any matmul backend (a
// test asserts its import graph).
//
// Two modes (docs/SOUNDNESS.md has the bounds):
//
//   - Full: the bundle carries every matrix; every root is recomputed, every
//     row of every product and every element-wise function is checked. A
//     wrong step passes with probability at most 2·products/p, p = 2^61 − 1.
//   - Sampled: the bundle carries the Merkle openings of the sampled rows;
//     a step with a fraction f of inconsistent rows in a group passes with
//     probability at most (1 − f)^s.
//
// Verify checks one bundle; Chain links the steps of a training run (each
// step once, in order, starting from the weights the previous step output).
// Every rejection is an error value: sentinel errors for conditions callers
// branch on (ErrTask, ErrKey, ErrStale, ErrReplay, ErrMode, and the bundle
// package's ErrFormat, ErrTooLarge, ErrSignature) and *CheckError, which
// names the step, matrix, row and check that failed.
//
// Verify never panics on a decoded bundle and allocates O(checked rows ·
// row width) beyond the bundle itself; bundle.Decode bounds the bundle.
package verifier
