package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExitCode(t *testing.T) {
	_, pathErr := os.Open(filepath.Join(t.TempDir(), "missing"))
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"help", flag.ErrHelp, ExitOK},
		{"wrapped help", fmt.Errorf("train: %w", flag.ErrHelp), ExitOK},
		{"usage", Usagef("--samples 0 is out of range"), ExitUsage},
		{"usage with hint", WithHint(Usagef("x"), "y"), ExitUsage},
		{"I/O", pathErr, ExitUsage},
		{"wrapped I/O", fmt.Errorf("reading: %w", pathErr), ExitUsage},
		{"silent rejection", Exit(ExitFailed), ExitFailed},
		{"silent success", Exit(ExitOK), ExitOK},
		{"failure", errors.New("step 3: proof does not verify"), ExitFailed},
	} {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("%s: ExitCode(%v) = %d, want %d", c.name, c.err, got, c.want)
		}
	}
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	code := Report(&b, "prover", WithHint(Usagef("bad --out"), "pass --force"))
	if code != ExitUsage || b.String() != "prover: error: bad --out\nprover: hint: pass --force\n" {
		t.Fatalf("code %d, output %q", code, b.String())
	}
	b.Reset()
	if code := Report(&b, "verifier", Exit(ExitFailed)); code != ExitFailed || b.Len() != 0 {
		t.Fatalf("a silent error printed %q (code %d)", b.String(), code)
	}
}

func TestParse(t *testing.T) {
	newFS := func(out *bytes.Buffer) *flag.FlagSet {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.SetOutput(out)
		fs.Int("steps", 1, "steps")
		return fs
	}
	var out bytes.Buffer
	if err := Parse(newFS(&out), []string{"-h"}, false); ExitCode(err) != ExitOK || !strings.Contains(out.String(), "-steps") {
		t.Fatalf("-h: %v, usage %q", err, out.String())
	}
	for _, args := range [][]string{{"--bogus"}, {"--steps", "x"}, {"--steps", "1", "stray"}} {
		out.Reset()
		err := Parse(newFS(&out), args, false)
		if ExitCode(err) != ExitUsage || out.Len() != 0 {
			t.Errorf("%q: %v (code %d), printed %q", args, err, ExitCode(err), out.String())
		}
	}
	if err := Parse(newFS(&out), []string{"--steps", "2", "a", "b"}, true); err != nil {
		t.Fatal(err)
	}
	for args, want := range map[string]bool{"-h": true, "--dir d --help": true, "--dir d": false, "-- -h": false, "x -help": true} {
		if got := HelpRequested(strings.Fields(args)); got != want {
			t.Errorf("HelpRequested(%q) = %v", args, got)
		}
	}
}

func TestRange(t *testing.T) {
	err := Range("samples", -1, 1, 65536)
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--samples -1 is negative") {
		t.Fatal(err)
	}
	if err := Range("samples", 0, 1, 65536); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatal(err)
	}
	if err := Range("samples", 1, 1, 65536); err != nil {
		t.Fatal(err)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 45 * 1000: "43.9 KiB", 3 << 20: "3.0 MiB", 5 << 30: "5.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestProgressLog(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, "train", 100)
	for i := 1; i <= 100; i++ {
		p.Set(i, "fast")
	}
	p.Done()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[9], "train: 100/100 (100%)") || !strings.Contains(lines[0], "ETA") {
		t.Fatalf("want one line per tenth, got %q", lines)
	}
	// A slow run logs every LogEvery even between tenths.
	b.Reset()
	p = NewProgress(&b, "prove", 1000)
	p.LogEvery = time.Nanosecond
	p.Set(1, "")
	time.Sleep(time.Millisecond)
	p.Set(2, "")
	p.Done()
	if n := strings.Count(b.String(), "\n"); n != 3 {
		t.Fatalf("%d lines: %q", n, b.String())
	}
}
