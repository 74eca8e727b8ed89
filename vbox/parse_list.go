package vbox

// This file parses `list vms` and `list runningvms`: one `"name" {uuid}` line per VM, the
// name printed raw, so it may contain quotes, braces or even newlines.

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// VMRef names one registered VM as `list vms` prints it.
type VMRef struct {
	Name string
	UUID string // lower case, without braces
	// Inaccessible is set for VMs whose settings VirtualBox cannot read; their Name is
	// "<inaccessible>" and nothing but the UUID is known about them.
	Inaccessible bool
}

// listLine matches a complete entry; the name match is greedy so that a name containing
// `" {` still ends at the last brace pair.
var listLine = regexp.MustCompile(`(?s)^"(.*)" \{([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}$`)

// maxNameLines bounds how many lines one VM name may span.
const maxNameLines = 8

// ParseList parses the output of `list vms` or `list runningvms`. Empty output is an empty
// list. A name containing newlines is rejoined. `<inaccessible>` entries are returned with
// Inaccessible set. Leading WARNING blocks are skipped. Output with lines but no entry at all
// is ErrUnexpectedOutput.
func ParseList(out []byte) ([]VMRef, error) {
	lines := splitLines(out)
	lines = skipWarnings(lines)
	var refs []VMRef
	var stray int
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, `"`) {
			stray++
			continue
		}
		if m := listLine.FindStringSubmatch(line); m != nil {
			refs = append(refs, newRef(m))
			continue
		}
		// A name with embedded newlines: join following lines until the entry closes.
		joined, found := line, false
		for j := i + 1; j < len(lines) && j <= i+maxNameLines; j++ {
			if strings.HasPrefix(lines[j], `"`) && listLine.MatchString(lines[j]) {
				break
			}
			joined += "\n" + lines[j]
			if m := listLine.FindStringSubmatch(joined); m != nil {
				refs = append(refs, newRef(m))
				i, found = j, true
				break
			}
		}
		if !found {
			stray++
		}
	}
	if len(refs) == 0 && stray > 0 {
		return nil, fmt.Errorf("parse vm list: %d lines, no entry: %w", stray, ErrUnexpectedOutput)
	}
	return refs, nil
}

func newRef(m []string) VMRef {
	return VMRef{Name: m[1], UUID: strings.ToLower(m[2]), Inaccessible: m[1] == "<inaccessible>"}
}

// splitLines normalises CRLF and splits out into lines without their terminators. A final
// newline does not make an extra empty line.
func splitLines(out []byte) []string {
	s := string(bytes.ReplaceAll(out, []byte("\r\n"), []byte("\n")))
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// skipWarnings drops the `WARNING:` blocks a broken kernel module install prints on stdout
// before any output (the WARNING line and its indented continuation) and leading blank lines.
func skipWarnings(lines []string) []string {
	inWarning := false
	for len(lines) > 0 {
		l := lines[0]
		switch {
		case strings.HasPrefix(l, "WARNING:"):
			inWarning = true
		case strings.TrimSpace(l) == "":
		case inWarning && (l[0] == ' ' || l[0] == '\t'):
		default:
			return lines
		}
		lines = lines[1:]
	}
	return lines
}
