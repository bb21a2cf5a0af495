package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Exit codes of the trainproof binaries, the same for every subcommand.
const (
	ExitOK     = 0 // success; also -h and --help
	ExitFailed = 1 // a rejection (a bundle, key or ceremony that does not verify) or work that failed
	ExitUsage  = 2 // a usage error (bad flag, bad value, stray argument) or an I/O error
)

// ExitError carries an exit code. With a nil Err it is silent: the command
// has already said why (verify prints each rejection on its own line).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit returns a silent error that exits with code, or nil for ExitOK.
func Exit(code int) error {
	if code == ExitOK {
		return nil
	}
	return &ExitError{Code: code}
}

// Usagef returns a usage error (exit 2).
func Usagef(format string, a ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// hinted is an error with a line of advice after it.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// WithHint attaches a hint that Report prints after the error, as
// "name: hint: …".
func WithHint(err error, format string, a ...any) error {
	if err == nil {
		return nil
	}
	return &hinted{err: err, hint: fmt.Sprintf(format, a...)}
}

// ExitCode maps an error to the process's exit code; every subcommand's
// error goes through it. nil and flag.ErrHelp are success; an ExitError
// carries its own code; a file that cannot be read or written (a
// *fs.PathError, *os.LinkError or *os.SyscallError anywhere in the chain) is
// an I/O error, 2; anything else failed, 1.
func ExitCode(err error) int {
	var ee *ExitError
	var pe *fs.PathError
	var le *os.LinkError
	var se *os.SyscallError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &pe), errors.As(err, &le), errors.As(err, &se):
		return ExitUsage
	}
	return ExitFailed
}

// Report prints err in the age style, "name: error: …" and then
// "name: hint: …" for every hint attached, and returns its exit code.
func Report(w io.Writer, name string, err error) int {
	code := ExitCode(err)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return code
	}
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		return code
	}
	fmt.Fprintf(w, "%s: error: %v\n", name, err)
	for e := err; e != nil; {
		var h *hinted
		if !errors.As(e, &h) {
			break
		}
		fmt.Fprintf(w, "%s: hint: %s\n", name, h.hint)
		e = h.err
	}
	return code
}

// Parse parses a subcommand's flags. -h and --help print the usage to the
// flag set's output and return flag.ErrHelp (exit 0); a bad flag or value is
// a usage error naming the flag. Unless positional is true, arguments left
// after the flags are refused.
func Parse(fset *flag.FlagSet, args []string, positional bool) error {
	out := fset.Output()
	fset.SetOutput(io.Discard) // the error is reported once, by Report
	err := fset.Parse(args)
	fset.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fset.Usage()
		return flag.ErrHelp
	case err != nil:
		return WithHint(Usagef("%v", err), "%s -h prints the flags", fset.Name())
	case !positional && fset.NArg() > 0:
		return WithHint(Usagef("unexpected argument %q", fset.Arg(0)), "%s takes flags only; -h prints them", fset.Name())
	}
	return nil
}

// HelpRequested reports whether args ask for help (-h, -help or --help
// before any "--"), for commands that parse their flags elsewhere.
func HelpRequested(args []string) bool {
	for _, a := range args {
		switch strings.TrimLeft(a, "-") {
		case "h", "help":
			return strings.HasPrefix(a, "-")
		case "":
			if a == "--" {
				return false
			}
		}
	}
	return false
}

// Range checks a flag's integer value against [lo, hi].
func Range(flagName string, v, lo, hi int) error {
	if v < lo || v > hi {
		if v < 0 && lo >= 0 {
			return Usagef("--%s %d is negative: want %d to %d", flagName, v, lo, hi)
		}
		return Usagef("--%s %d is out of range: want %d to %d", flagName, v, lo, hi)
	}
	return nil
}

// Usage marks err as a usage or I/O error (exit 2), for errors that are
// not an *fs.PathError but mean the same: a data set that is not there, a
// key that does not fit the task.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: ExitUsage, Err: err}
}
