// Package cli holds what the trainproof binaries share: error reporting in
// the age style and a progress bar that is quiet when stderr is not a terminal.
package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Fatalf prints "name: error: …" (and hints) to stderr and exits with code.
func Fatalf(name string, code int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "%s: error: %s\n", name, msg)
	os.Exit(code)
}

// Hint prints "name: hint: …" to stderr.
func Hint(name, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s: hint: %s\n", name, fmt.Sprintf(format, args...))
}

// Progress is a one-line progress bar on stderr, drawn only on a terminal.
type Progress struct {
	w     io.Writer
	on    bool
	total int
	label string
	start time.Time
	last  time.Time
}

// NewProgress starts a bar for total units.
func NewProgress(label string, total int) *Progress {
	return &Progress{w: os.Stderr, on: term.IsTerminal(int(os.Stderr.Fd())), total: total, label: label, start: time.Now()}
}

// Set draws the bar at done units with an extra note.
func (p *Progress) Set(done int, note string) {
	if !p.on || (time.Since(p.last) < 100*time.Millisecond && done < p.total) {
		return
	}
	p.last = time.Now()
	const width = 30
	fill := 0
	if p.total > 0 {
		fill = done * width / p.total
	}
	el := time.Since(p.start).Round(time.Second)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %s %s", p.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, p.total, el, note)
}

// Done ends the bar's line.
func (p *Progress) Done() {
	if p.on {
		fmt.Fprintln(p.w)
	}
}
