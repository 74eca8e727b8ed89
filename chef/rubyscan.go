// This file holds the small, line-based reader of Ruby source that resolution uses to find
// `depends` in metadata.rb and `include_recipe` in recipes. It is not a Ruby parser: it knows
// comments, =begin/=end blocks, heredocs and string literals well enough to tell a literal name
// (`include_recipe "apt"`) from one Ruby computes (`include_recipe "java::#{v}"`, `depends cb`).

package chef

import (
	"bytes"
	"regexp"
	"strings"
)

// rubyArg is one argument of a call found in Ruby source.
type rubyArg struct {
	// Value is the string's value when Literal, else the argument's source text.
	Value string
	// Literal reports whether the argument is a plain string literal without interpolation.
	Literal bool
}

// rubyCall is one call of a method found in Ruby source.
type rubyCall struct {
	Line int
	// Args are the call's arguments up to and including the first one that is not a literal.
	Args []rubyArg
}

var heredocStart = regexp.MustCompile(`<<[-~]?(['"]?)([A-Z_][A-Za-z0-9_]*)(['"]?)`)

// scanCalls returns every call of method in src, in source order. A call must start a statement
// or follow a space, `;`, `{`, `(` or `|`, and the method name must be followed by a space or `(`.
func scanCalls(src []byte, method string) []rubyCall {
	var calls []rubyCall
	if !bytes.Contains(src, []byte(method)) {
		return nil // the common case for most files: nothing to scan for
	}
	inDoc := false
	var heredocs []string // terminators still to be seen, in order
	for i, text := range strings.Split(string(src), "\n") {
		line := i + 1
		text = strings.TrimSuffix(text, "\r")
		switch {
		case inDoc:
			if strings.HasPrefix(text, "=end") {
				inDoc = false
			}
			continue
		case len(heredocs) > 0:
			if strings.TrimSpace(text) == heredocs[0] {
				heredocs = heredocs[1:]
			}
			continue
		case strings.HasPrefix(text, "=begin"):
			inDoc = true
			continue
		}
		code, masked := stripComment(text)
		if strings.Contains(masked, "<<") {
			for _, m := range heredocStart.FindAllStringSubmatchIndex(masked, -1) {
				heredocs = append(heredocs, masked[m[4]:m[5]])
			}
		}
		calls = appendCalls(calls, line, code, masked, method)
	}
	return calls
}

// appendCalls finds the calls of method on one line. code is the line without its comment;
// masked is code with every string literal's contents replaced, so names inside strings do not
// count as calls.
func appendCalls(calls []rubyCall, line int, code, masked, method string) []rubyCall {
	from := 0
	for {
		i := strings.Index(masked[from:], method)
		if i < 0 {
			return calls
		}
		start := from + i
		end := start + len(method)
		from = end
		if start > 0 && !strings.ContainsRune(" \t;{(|", rune(masked[start-1])) {
			continue
		}
		if end >= len(masked) || (masked[end] != ' ' && masked[end] != '\t' && masked[end] != '(') {
			continue
		}
		calls = append(calls, rubyCall{Line: line, Args: parseArgs(code[end:])})
	}
}

// parseArgs reads the comma-separated arguments at the start of s (after the method name).
func parseArgs(s string) []rubyArg {
	s = strings.TrimLeft(s, " \t")
	s = strings.TrimPrefix(s, "(")
	var args []rubyArg
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return args
		}
		val, rest, ok := stringLiteral(s)
		if !ok {
			raw := s
			if j := strings.IndexAny(raw, ",)};"); j >= 0 {
				raw = raw[:j]
			}
			for _, kw := range []string{" if ", " unless ", " do", " rescue "} {
				raw, _, _ = strings.Cut(raw, kw)
			}
			return append(args, rubyArg{Value: strings.TrimSpace(raw)})
		}
		args = append(args, val)
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(rest, ",") || !val.Literal {
			return args
		}
		s = rest[1:]
	}
}

// stringLiteral reads a '...' or "..." literal at the start of s. An interpolated double-quoted
// string is returned with Literal false and its source text as Value.
func stringLiteral(s string) (rubyArg, string, bool) {
	if s == "" || (s[0] != '"' && s[0] != '\'') {
		return rubyArg{}, s, false
	}
	q := s[0]
	var b strings.Builder
	interp := false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == q:
			if interp {
				return rubyArg{Value: s[:i+1]}, s[i+1:], true
			}
			return rubyArg{Value: b.String(), Literal: true}, s[i+1:], true
		case q == '"' && c == '#' && i+1 < len(s) && s[i+1] == '{':
			interp = true
			i = skipInterpolation(s, i+2) - 1
		default:
			b.WriteByte(c)
		}
	}
	return rubyArg{Value: s}, "", true // unterminated: not a literal we can trust
}

// skipInterpolation returns the index just past the `}` that closes an interpolation whose body
// starts at i.
func skipInterpolation(s string, i int) int {
	depth := 1
	for ; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

// stripComment returns the line without a trailing `#` comment, and the same text with the
// contents of string literals replaced by '_' (quotes kept).
func stripComment(line string) (code, masked string) {
	m := []byte(line)
	var q byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		if q == 0 {
			switch c {
			case '#':
				return line[:i], string(m[:i])
			case '"', '\'':
				q = c
			}
			continue
		}
		switch {
		case c == '\\' && i+1 < len(line):
			m[i], m[i+1] = '_', '_'
			i++
		case c == q:
			q = 0
		case q == '"' && c == '#' && i+1 < len(line) && line[i+1] == '{':
			end := skipInterpolation(line, i+2)
			for j := i; j < end; j++ {
				m[j] = '_'
			}
			i = end - 1
		default:
			m[i] = '_'
		}
	}
	return line, string(m)
}
