// Machine-readable diagnostics: the shape of `terraform validate -json` (docs/PLAN-JSON.md), so
// editor integrations and pipelines that parse Terraform's output read the agent's too.
package spec

import (
	"bufio"
	"bytes"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcled"
)

// ValidateJSON is the document `agent validate --json` prints.
type ValidateJSON struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []DiagnosticJSON `json:"diagnostics"`
}

// DiagnosticJSON is one diagnostic. Range and Snippet are omitted for a problem that has no
// place in a file (say, a configuration path that does not exist).
type DiagnosticJSON struct {
	Severity string       `json:"severity"` // "error" or "warning"
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *RangeJSON   `json:"range,omitempty"`
	Snippet  *SnippetJSON `json:"snippet,omitempty"`
}

// RangeJSON is a span of a file; End is exclusive.
type RangeJSON struct {
	Filename string  `json:"filename"`
	Start    PosJSON `json:"start"`
	End      PosJSON `json:"end"`
}

// PosJSON is a position: line and column from 1 (column in characters), byte offset from 0.
type PosJSON struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// SnippetJSON is the source around a diagnostic: Code holds the whole lines the range covers,
// from StartLine; the highlight offsets are byte offsets into Code; Context names the
// enclosing block (`pool "ruby"`) or is null at the top level.
type SnippetJSON struct {
	Context              *string     `json:"context"`
	Code                 string      `json:"code"`
	StartLine            int         `json:"start_line"`
	HighlightStartOffset int         `json:"highlight_start_offset"`
	HighlightEndOffset   int         `json:"highlight_end_offset"`
	Values               []valueJSON `json:"values"`
}

// valueJSON is Terraform's expression value; the agent reports none, so values is always [].
type valueJSON struct {
	Traversal string `json:"traversal"`
	Statement string `json:"statement"`
}

// DiagnosticsJSON converts diags, with snippets taken from files (Loader.Files()).
func DiagnosticsJSON(diags hcl.Diagnostics, files map[string]*hcl.File) ValidateJSON {
	out := ValidateJSON{FormatVersion: "1.0", Diagnostics: []DiagnosticJSON{}}
	for _, d := range diags {
		j := DiagnosticJSON{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			j.Severity = "warning"
			out.WarningCount++
		} else {
			out.ErrorCount++
		}
		if d.Subject != nil {
			j.Range = rangeJSON(*d.Subject)
			j.Snippet = snippetJSON(d, files[d.Subject.Filename])
		}
		out.Diagnostics = append(out.Diagnostics, j)
	}
	out.Valid = out.ErrorCount == 0
	return out
}

func rangeJSON(r hcl.Range) *RangeJSON {
	return &RangeJSON{
		Filename: r.Filename,
		Start:    PosJSON{r.Start.Line, r.Start.Column, r.Start.Byte},
		End:      PosJSON{r.End.Line, r.End.Column, r.End.Byte},
	}
}

// snippetJSON follows Terraform: the snippet spans the subject and, when given, the context
// range; the highlight is the subject.
func snippetJSON(d *hcl.Diagnostic, file *hcl.File) *SnippetJSON {
	if file == nil || file.Bytes == nil {
		return nil
	}
	highlight := *d.Subject
	span := highlight
	if d.Context != nil {
		span = hcl.RangeOver(span, *d.Context)
	}
	s := &SnippetJSON{StartLine: span.Start.Line, Values: []valueJSON{}}
	if c := hcled.ContextString(file, highlight.Start.Byte-1); c != "" {
		s.Context = &c
	}
	var code bytes.Buffer
	codeStart := -1
	sc := hcl.NewRangeScanner(file.Bytes, highlight.Filename, bufio.ScanLines)
	for sc.Scan() {
		lr := sc.Range()
		if lr.Start.Line < span.Start.Line || lr.Start.Line > span.End.Line {
			continue
		}
		if codeStart < 0 {
			codeStart = lr.Start.Byte
		} else {
			code.WriteByte('\n')
		}
		code.Write(sc.Bytes())
	}
	if codeStart < 0 { // a range past the end of the file (an empty one)
		codeStart = len(file.Bytes)
	}
	s.Code = code.String()
	clamp := func(off int) int { return max(0, min(off-codeStart, len(s.Code))) }
	s.HighlightStartOffset = clamp(highlight.Start.Byte)
	s.HighlightEndOffset = max(s.HighlightStartOffset, clamp(highlight.End.Byte))
	return s
}
