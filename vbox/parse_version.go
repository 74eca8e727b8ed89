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
	lines := skipWarnings(splitLines(out))
	if len(lines) == 0 {
		return Version{}, fmt.Errorf("parse version: empty output: %w", ErrUnexpectedOutput)
	}
	line := strings.TrimSpace(lines[0])
	m := versionLine.FindStringSubmatch(line)
	if m == nil {
		return Version{}, fmt.Errorf("parse version %q: %w", line, ErrUnexpectedOutput)
	}
	v := Version{Raw: line, Build: m[4] + m[6]}
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
