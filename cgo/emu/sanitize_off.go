//go:build !emusan

package emu

// Sanitized reports whether this build checks kernels with the sanitizers
// (build tag emusan; see sanitize_on.go).
const Sanitized = false
