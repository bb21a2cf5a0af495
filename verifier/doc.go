// Package verifier checks trainproof proof bundles. It is what network
// builders import into their nodes: pure Go, builds with CGO_ENABLED=0, and
// imports neither the prover, nor the trainer, nor any matmul backend (a
// test asserts its import graph).
//
// Two modes (docs/SOUNDNESS.md states the theorems and proves them):
//
//   - Full: the bundle carries every matrix; every root is recomputed, every
//     row of every product and every element-wise function is checked. A
//     wrong step passes with probability at most (products + rows)/p,
//     p = 2^61 − 1.
//   - Sampled (protocol v2): the bundle carries the batch-indexed matrices and
//     the int8 weight views whole, and Merkle openings of s sampled rows of
//     the int32 weights, gradients and updates. The verifier computes every
//     Freivalds vector itself, so the batch side of a step is checked exactly
//     and a step whose gradient, view or update is wrong in k of a layer's n
//     rows passes with probability at most C(n−k, s)/C(n, s) ≤ (1 − s/n)^k.
//
// A node must pin what it accepts: Options.TaskID or Options.Tasks (zero
// Options are refused with ErrNoTask), the signers (Options.Keys), and in
// beacon mode the nonce it issued for each step's commitment
// (Options.Nonce). Step 0 is checked against the task's initial weights
// whole; a Chain starts at step 0 or at a trusted Checkpoint (NewChainFrom).
// Verification time and memory are linear in the bundle's size, except that a
// matmul unit's operand B is derived by the verifier (K·N bytes of SHA-256
// output): pin tasks you are willing to derive.
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
