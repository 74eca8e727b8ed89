package vbox

// This file reads VBoxManage's progress output: "0%...10%...100%" on stderr, and on failure
// "Progress state: NAME" (up to 6.x) or a bare "NAME" line (7.x) before the error block.

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
)

// ProgressFunc receives the percentage of a long operation (import, clone, export, snapshot,
// delete) each time VBoxManage reports a new step. Calls are made from the goroutine copying
// the process's stderr, in increasing order; the function must not block.
type ProgressFunc func(percent int)

// Progress is what a finished progress stream said.
type Progress struct {
	// Percent is the last percentage printed, or -1 when there was none.
	Percent int
	// State is the HRESULT name of a failed progress object, or "" on success.
	State string
}

var (
	// progressLine matches a whole progress line; the last step may lack its dots.
	progressLine = regexp.MustCompile(`^(?:\d{1,3}%\.\.\.)*(?:\d{1,3}%)?$`)
	// progressPrefix matches a progress line up to a '%' that has not been seen yet.
	progressPrefix = regexp.MustCompile(`^(?:\d{1,3}%\.\.\.)*(\d{1,3})$`)
	// bareState is the 7.x failure line: an HRESULT name alone.
	bareState = regexp.MustCompile(`^[A-Z][A-Z0-9]*_[A-Z0-9_]+$`)
	percentRe = regexp.MustCompile(`(\d{1,3})%`)
)

// ParseProgress reads the progress lines of a finished stderr stream. Lines that are not
// progress (Interpreting, OK., error blocks) are ignored.
func ParseProgress(stderr []byte) Progress {
	p := Progress{Percent: -1}
	afterProgress := false
	for line := range strings.SplitSeq(string(bytes.ReplaceAll(stderr, []byte("\r\n"), []byte("\n"))), "\n") {
		line = strings.TrimRight(line, " \r")
		switch {
		case line != "" && progressLine.MatchString(line):
			for _, m := range percentRe.FindAllStringSubmatch(line, -1) {
				p.Percent, _ = strconv.Atoi(m[1])
			}
			afterProgress = true
			continue
		case strings.HasPrefix(line, "Progress state: ") && p.State == "":
			p.State = strings.TrimPrefix(line, "Progress state: ")
		case afterProgress && p.State == "" && bareState.MatchString(line):
			p.State = line
		}
		afterProgress = false
	}
	return p
}

// progressWriter turns a stderr byte stream into ProgressFunc calls as the steps arrive.
type progressWriter struct {
	fn   ProgressFunc
	line []byte // the current line so far, capped
	last int    // last reported percentage, -1 before the first
}

func newProgressWriter(fn ProgressFunc) *progressWriter {
	return &progressWriter{fn: fn, last: -1}
}

// Write scans p for completed percentages. It never fails.
func (w *progressWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		switch c {
		case '\n', '\r':
			w.line = w.line[:0]
			continue
		case '%':
			if m := progressPrefix.FindSubmatch(w.line); m != nil {
				if n, err := strconv.Atoi(string(m[1])); err == nil && n > w.last && n <= 100 {
					w.last = n
					w.fn(n)
				}
			}
		}
		if len(w.line) < 512 {
			w.line = append(w.line, c)
		}
	}
	return len(p), nil
}
