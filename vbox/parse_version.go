package vbox

// This file parses `VBoxManage --version`: "<major>.<minor>.<patch>[suffix]r<revision>",
// possibly after a WARNING block about the kernel module.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a VirtualBox version as `--version` prints it.
type Version struct {
	Major, Minor, Patch int
	// Build is the distribution suffix before the revision ("_Ubuntu", "_OSE", "_RC1"), or "".
	Build string
	// Revision is the SVN revision after the 'r', or 0 when none was printed.
	Revision int
	// Raw is the version line as printed.
	Raw string
	// Warnings are the WARNING blocks printed before the version (the kernel module is not
	// loaded, /dev/vboxdrv is missing), one string per block with its lines joined by
	// newlines and trimmed; nil when there were none. VMs cannot start while there are.
	Warnings []string `json:",omitempty"`
}

// String renders v as major.minor.patch.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

var versionLine = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)(?:([^\s]*?)r(\d+))?([^\s]*)$`)

// ParseVersion parses the output of `VBoxManage --version`. Leading WARNING blocks are
// skipped; the first other line must be a version.
func ParseVersion(out []byte) (Version, error) {
	all := splitLines(out)
	lines := skipWarnings(all)
	warnings := warningBlocks(all[:len(all)-len(lines)])
	if len(lines) == 0 {
		return Version{}, fmt.Errorf("parse version: empty output: %w", ErrUnexpectedOutput)
	}
	line := strings.TrimSpace(lines[0])
	m := versionLine.FindStringSubmatch(line)
	if m == nil {
		return Version{}, fmt.Errorf("parse version %q: %w", line, ErrUnexpectedOutput)
	}
	v := Version{Raw: line, Build: m[4] + m[6], Warnings: warnings}
	var err error
	for i, p := range []*int{&v.Major, &v.Minor, &v.Patch} {
		if *p, err = strconv.Atoi(m[i+1]); err != nil {
			return Version{}, fmt.Errorf("parse version %q: %w", line, ErrUnexpectedOutput)
		}
	}
	if m[5] != "" {
		if v.Revision, err = strconv.Atoi(m[5]); err != nil {
			return Version{}, fmt.Errorf("parse version %q: %w", line, ErrUnexpectedOutput)
		}
	}
	return v, nil
}

// warningBlocks returns the WARNING blocks of the lines skipWarnings skipped.
func warningBlocks(lines []string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "WARNING:"):
			flush()
			cur = append(cur, t)
		case t != "" && cur != nil:
			cur = append(cur, t)
		}
	}
	flush()
	return out
}
