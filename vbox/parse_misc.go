package vbox

// This file parses the small outputs of single commands: `getextradata` and `guestproperty
// get` values, extradata enumeration, `snapshot take`, and the human `Key: value` listings
// (`list hostonlyifs`, `list systemproperties`, `list -l vms`, ...).

import (
	"fmt"
	"regexp"
	"strings"
)

// parseValue reads "Value: <v>" or "No value set!" (both exit 0).
func parseValue(out []byte) (value string, ok bool, err error) {
	for _, l := range skipWarnings(splitLines(out)) {
		switch {
		case strings.HasPrefix(l, "Value: "):
			return strings.TrimPrefix(l, "Value: "), true, nil
		case l == "Value:":
			return "", true, nil
		case strings.TrimSpace(l) == "No value set!":
			return "", false, nil
		}
	}
	return "", false, fmt.Errorf("parse value: %w", ErrUnexpectedOutput)
}

// parseExtraData reads `getextradata VM enumerate`: one "Key: <k>, Value: <v>" line per entry.
// A value containing a newline continues on the next line.
func parseExtraData(out []byte) (map[string]string, error) {
	m := map[string]string{}
	last := ""
	for _, l := range skipWarnings(splitLines(out)) {
		k, v, ok := strings.Cut(strings.TrimPrefix(l, "Key: "), ", Value: ")
		if !strings.HasPrefix(l, "Key: ") || !ok {
			if last == "" {
				if strings.TrimSpace(l) == "" {
					continue
				}
				return nil, fmt.Errorf("parse extradata line %q: %w", l, ErrUnexpectedOutput)
			}
			m[last] += "\n" + l
			continue
		}
		m[k], last = v, k
	}
	return m, nil
}

var snapshotTaken = regexp.MustCompile(`Snapshot taken\. UUID: ([0-9a-fA-F-]{36})`)

// parseSnapshotTaken reads the UUID from `snapshot VM take` output.
func parseSnapshotTaken(out []byte) (string, error) {
	m := snapshotTaken.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("parse snapshot take: %w", ErrUnexpectedOutput)
	}
	return strings.ToLower(string(m[1])), nil
}

// Field is one "Key: value" line of a human listing.
type Field struct {
	Key, Value string
}

// Block is one object of a human listing (an interface, a DHCP server, an OS type, a VM).
type Block []Field

// Get returns the value of the first field named key.
func (b Block) Get(key string) (string, bool) {
	for _, f := range b {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// ParseBlocks parses the human "Key:   value" listings (`list hostonlyifs`, `bridgedifs`,
// `hostonlynets`, `dhcpservers`, `natnets`, `ostypes`, `systemproperties`, `list -l vms`).
// The key is the text before the first ':', and key and value are trimmed. A new block starts
// where the listing's first key appears again at column 0 after a blank line, unless the
// last line before the blank was a section header ("Snapshots:", "Shared folders:") whose
// entries reuse that key. Blank lines alone do not split, because `hostonlynets` prints one
// inside each block. Indented lines belong to the current block; lines without ':' are kept
// as fields with an empty value.
func ParseBlocks(out []byte) []Block {
	var blocks []Block
	first := ""
	blank, header := false, false
	for _, l := range skipWarnings(splitLines(out)) {
		if strings.TrimSpace(l) == "" {
			blank = true
			continue
		}
		k, v, _ := strings.Cut(l, ":")
		indented := l[0] == ' ' || l[0] == '\t'
		f := Field{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v)}
		if first == "" {
			first = f.Key
		}
		if len(blocks) == 0 || !indented && f.Key == first && blank && !header {
			blocks = append(blocks, nil)
		}
		blocks[len(blocks)-1] = append(blocks[len(blocks)-1], f)
		blank, header = false, f.Value == "" && strings.HasSuffix(strings.TrimSpace(l), ":")
	}
	return blocks
}
