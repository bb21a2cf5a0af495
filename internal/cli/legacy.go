package cli

import (
	"fmt"
	"os"
)

// Fatalf prints "name: error: …" to stderr and exits with code.
//
// Deprecated: return an error and let Report map it.
func Fatalf(name string, code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s: error: %s\n", name, fmt.Sprintf(format, args...))
	os.Exit(code)
}

// Hint prints "name: hint: …" to stderr.
//
// Deprecated: attach it with WithHint.
func Hint(name, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s: hint: %s\n", name, fmt.Sprintf(format, args...))
}
