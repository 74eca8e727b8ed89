package vbox

// This file is the tokeniser for `--machinereadable` output, shared by ParseVMInfo and
// ParseSnapshots. Its hot loop runs once per line of showvminfo (a few hundred lines).
//
// Grammar, as real versions print it (VBOXMANAGE.md 2.4 and 5.5): a key is a quoted string
// (with \" and \\ escapes) or the text up to the first '='; a value is a quoted string that
// may span lines, or the raw rest of the line. Lines without '=' and lines starting with
// white space are not entries. Keys may repeat and order is kept.

import "strings"

// KeyValue is one entry of machine-readable output, in output order.
type KeyValue struct {
	Key, Value string
}

// parseMachineReadable tokenises machine-readable output. It never fails: what it cannot read
// is skipped, and callers decide whether the entries they need are there.
func parseMachineReadable(out []byte) []KeyValue {
	lines := skipWarnings(splitLines(out))
	var kvs []KeyValue
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\r")
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		var key, rest string
		if line[0] == '"' {
			k, n, ok := scanQuoted(line[1:])
			if !ok || !strings.HasPrefix(line[1+n:], "=") {
				continue
			}
			key, rest = k, line[1+n+1:]
		} else {
			eq := strings.IndexByte(line, '=')
			if eq <= 0 {
				continue
			}
			key, rest = line[:eq], line[eq+1:]
		}
		value, consumed := readValue(rest, lines[i+1:])
		i += consumed
		kvs = append(kvs, KeyValue{Key: key, Value: value})
	}
	return kvs
}

// readValue reads the value that starts with rest and may continue on the following lines.
// It returns the value and how many following lines it consumed.
func readValue(rest string, next []string) (string, int) {
	if !strings.HasPrefix(rest, `"`) {
		return rest, 0
	}
	body := rest[1:]
	if endsWithQuote(body) {
		// Everything up to the last quote: raw fields (snapshot names) may hold quotes.
		return unescape(body[:len(body)-1]), 0
	}
	if hasUnescapedQuote(body) {
		// A quoted prefix followed by other text, like VideoMode="720,400,0"@0,0 1.
		return rest, 0
	}
	// A multi-line value: it ends on the first line whose last unescaped character is '"'.
	for j, l := range next {
		l = strings.TrimSuffix(l, "\r")
		if endsWithQuote(l) {
			parts := append([]string{body}, next[:j]...)
			parts = append(parts, l[:len(l)-1])
			return unescape(strings.Join(parts, "\n")), j + 1
		}
	}
	// Never closed (truncated output): keep the first line only and go on.
	return body, 0
}

// scanQuoted reads an escaped quoted string whose opening quote was already consumed. It
// returns the unescaped text, the number of bytes read including the closing quote, and
// whether a closing quote was found.
func scanQuoted(s string) (string, int, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		case c == '"':
			return b.String(), i + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return "", len(s), false
}

// endsWithQuote reports whether s ends with a '"' that is not escaped by a backslash.
func endsWithQuote(s string) bool {
	if !strings.HasSuffix(s, `"`) {
		return false
	}
	n := 0
	for i := len(s) - 2; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 0
}

// hasUnescapedQuote reports whether s contains a '"' not escaped by a backslash.
func hasUnescapedQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
			i++
			continue
		}
		if s[i] == '"' {
			return true
		}
	}
	return false
}

// unescape turns \" into " and \\ into \ and leaves every other backslash alone, which is
// right for 7.x's escaped fields and for the raw paths older versions printed.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
			b.WriteByte(s[i+1])
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
