package web

import (
	"bytes"
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ansiHTML turns a stream of terminal output into HTML: SGR colour and bold
// codes become <span class="..."> runs, other escape sequences are dropped,
// text is escaped. It keeps state across writes, so an escape sequence or
// a colour split between two log chunks renders the same as in one.
type ansiHTML struct {
	fg, bg  int // 0 = default, else 30-37/90-97 and 40-47/100-107
	bold    bool
	pending []byte // an incomplete escape sequence from the last chunk
}

// maxEscape bounds a buffered escape sequence; longer ones are dropped.
const maxEscape = 64

// convert returns the HTML for chunk.
func (a *ansiHTML) convert(chunk []byte) string {
	data := chunk
	if len(a.pending) > 0 {
		data = append(a.pending, chunk...)
		a.pending = nil
	}
	var out strings.Builder
	for len(data) > 0 {
		i := bytes.IndexByte(data, 0x1b)
		if i < 0 {
			// Hold back a UTF-8 character cut by the chunk boundary.
			keep := 0
			for k := 1; k <= 3 && k <= len(data); k++ {
				if utf8.RuneStart(data[len(data)-k]) {
					if !utf8.FullRune(data[len(data)-k:]) {
						keep = k
					}
					break
				}
			}
			a.text(&out, data[:len(data)-keep])
			if keep > 0 {
				a.pending = append([]byte(nil), data[len(data)-keep:]...)
			}
			break
		}
		a.text(&out, data[:i])
		data = data[i:]
		n, complete := escapeLen(data)
		if !complete {
			if len(data) <= maxEscape {
				a.pending = append([]byte(nil), data...)
			}
			break
		}
		if n >= 3 && data[1] == '[' && data[n-1] == 'm' {
			a.sgr(string(data[2 : n-1]))
		}
		data = data[n:]
	}
	return out.String()
}

// escapeLen returns the length of the escape sequence at the start of b
// (b[0] == ESC) and whether it is complete.
func escapeLen(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	if b[1] == ']' { // OSC (window title, hyperlink): up to BEL or ESC \
		for i := 2; i < len(b) && i < maxEscape; i++ {
			if b[i] == 0x07 {
				return i + 1, true
			}
			if b[i] == 0x1b && i+1 < len(b) && b[i+1] == '\\' {
				return i + 2, true
			}
		}
		if len(b) >= maxEscape {
			return 2, true
		}
		return 0, false
	}
	if b[1] != '[' {
		return 2, true
	}
	for i := 2; i < len(b); i++ {
		if c := b[i]; c >= 0x40 && c <= 0x7e {
			return i + 1, true
		}
		if i >= maxEscape {
			return i, true
		}
	}
	return 0, false
}

func (a *ansiHTML) sgr(params string) {
	if params == "" {
		params = "0"
	}
	for _, p := range strings.Split(params, ";") {
		n, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		switch {
		case n == 0:
			a.fg, a.bg, a.bold = 0, 0, false
		case n == 1:
			a.bold = true
		case n == 22:
			a.bold = false
		case n >= 30 && n <= 37, n >= 90 && n <= 97:
			a.fg = n
		case n == 39:
			a.fg = 0
		case n >= 40 && n <= 47, n >= 100 && n <= 107:
			a.bg = n
		case n == 49:
			a.bg = 0
		}
	}
}

func (a *ansiHTML) text(out *strings.Builder, b []byte) {
	if len(b) == 0 {
		return
	}
	var cls []string
	if a.fg != 0 {
		cls = append(cls, "a"+strconv.Itoa(a.fg))
	}
	if a.bg != 0 {
		cls = append(cls, "a"+strconv.Itoa(a.bg))
	}
	if a.bold {
		cls = append(cls, "ab")
	}
	esc := html.EscapeString(validUTF8(b))
	if len(cls) == 0 {
		out.WriteString(esc)
		return
	}
	out.WriteString(`<span class="` + strings.Join(cls, " ") + `">` + esc + `</span>`)
}

// validUTF8 replaces each invalid byte with U+FFFD.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out.WriteRune(utf8.RuneError)
		} else {
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.String()
}
