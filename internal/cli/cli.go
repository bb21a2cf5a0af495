// Package cli holds what the trainproof binaries share: one mapping from
// errors to exit codes, error reporting in the age style, flag checks, the
// miner's key file and a progress display for terminals and logs.
package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Progress reports a long run on w. On a terminal it is a bar redrawn in
// place with the elapsed time and an ETA; elsewhere (a log file, a pipe, CI)
// it is a plain line every LogEvery or every tenth of the run, whichever
// comes first, so that a log shows the run is alive without filling up.
type Progress struct {
	w        io.Writer
	tty      bool
	total    int
	label    string
	start    time.Time
	last     time.Time
	lastTen  int // tenths of the run already logged
	done     int
	note     string
	ended    bool
	LogEvery time.Duration
}

// NewProgress starts reporting a run of total units on w.
func NewProgress(w io.Writer, label string, total int) *Progress {
	f, ok := w.(*os.File)
	tty := ok && term.IsTerminal(int(f.Fd()))
	now := time.Now()
	return &Progress{w: w, tty: tty, total: total, label: label, start: now, last: now, LogEvery: 10 * time.Second}
}

// Set reports done units with an extra note.
func (p *Progress) Set(done int, note string) {
	p.done, p.note = done, note
	now := time.Now()
	if p.tty {
		if now.Sub(p.last) < 100*time.Millisecond && done < p.total {
			return
		}
		p.last = now
		const width = 30
		fill := 0
		if p.total > 0 {
			fill = min(width, done*width/p.total)
		}
		if note != "" {
			note = ", " + note
		}
		fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %s, ETA %s%s\x1b[K", p.label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill),
			done, p.total, now.Sub(p.start).Round(time.Second), p.eta(now), note)
		return
	}
	ten := 0
	if p.total > 0 {
		ten = done * 10 / p.total
	}
	if ten <= p.lastTen && now.Sub(p.last) < p.LogEvery {
		return
	}
	p.lastTen, p.last = ten, now
	p.line(now)
}

func (p *Progress) line(now time.Time) {
	pct := 0
	if p.total > 0 {
		pct = p.done * 100 / p.total
	}
	fmt.Fprintf(p.w, "%s: %d/%d (%d%%) %s elapsed, ETA %s", p.label, p.done, p.total, pct, now.Sub(p.start).Round(time.Second), p.eta(now))
	if p.note != "" {
		fmt.Fprintf(p.w, ", %s", p.note)
	}
	fmt.Fprintln(p.w)
}

// eta extrapolates the rate so far.
func (p *Progress) eta(now time.Time) string {
	if p.done <= 0 || p.done >= p.total {
		if p.done >= p.total {
			return "0s"
		}
		return "?"
	}
	el := now.Sub(p.start)
	left := time.Duration(float64(el) * float64(p.total-p.done) / float64(p.done))
	return left.Round(time.Second).String()
}

// Done ends the report: the bar's line on a terminal, a last line elsewhere
// unless the last one logged was already complete. Calls after the first do
// nothing, so that Done can also be deferred.
func (p *Progress) Done() {
	if p.ended {
		return
	}
	p.ended = true
	if p.tty {
		fmt.Fprintln(p.w)
		return
	}
	if p.lastTen < 10 && p.done > 0 {
		p.line(time.Now())
	}
}
