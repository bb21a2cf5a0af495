//go:build emusan

package emu

// Built with -tags emusan, the emulator and the kernels are compiled with
// UBSan's bounds checks, so that a kernel indexing one of its local arrays
// (an accumulator, a message block) out of bounds stops the test with
// "index N out of bounds" naming the source line, and the rest of UBSan
// (signed overflow, misaligned loads, shifts). Every report is fatal.
//
// AddressSanitizer on top: `go test -asan -tags emusan` (Go instruments its
// own code and links the ASan runtime first, as ASan requires); see
// kernels/emu/README.md.

// #cgo CXXFLAGS: -fsanitize=undefined -fsanitize=bounds-strict -fno-omit-frame-pointer
// #cgo LDFLAGS: -fsanitize=undefined
//
// // Every report stops the process (cgo does not accept
// // -fno-sanitize-recover; the runtime's default options do the same).
// const char* __ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }
import "C"

// Sanitized reports whether this build checks kernels with the sanitizers.
const Sanitized = true
