package spec

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// TestDiagnosticsJSONSnippets checks the snippet rules taken from Terraform: the code spans
// the subject and the context range in whole lines, the highlight is the subject, and a file
// whose source is unknown gets a range but no snippet.
func TestDiagnosticsJSONSnippets(t *testing.T) {
	src := "pool \"ruby\" {\n  vms = [\n    1,\n  ]\n}\n"
	p := hclparse.NewParser()
	if _, diags := p.ParseHCL([]byte(src), "fleet.hcl"); diags.HasErrors() {
		t.Fatal(diags)
	}
	rng := func(l1, c1, b1, l2, c2, b2 int) *hcl.Range {
		return &hcl.Range{Filename: "fleet.hcl", Start: hcl.Pos{Line: l1, Column: c1, Byte: b1}, End: hcl.Pos{Line: l2, Column: c2, Byte: b2}}
	}
	tests := []struct {
		name      string
		diag      *hcl.Diagnostic
		code      string
		startLine int
		highlight string
	}{
		{"subject over several lines", &hcl.Diagnostic{Subject: rng(2, 9, 22, 4, 4, 34)},
			"  vms = [\n    1,\n  ]", 2, "[\n    1,\n  ]"},
		{"context widens the code", &hcl.Diagnostic{Subject: rng(3, 5, 28, 3, 6, 29), Context: rng(2, 3, 16, 4, 4, 34)},
			"  vms = [\n    1,\n  ]", 2, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.diag.Summary = "S"
			got := DiagnosticsJSON(hcl.Diagnostics{tt.diag}, p.Files())
			s := got.Diagnostics[0].Snippet
			if s == nil {
				t.Fatal("no snippet")
			}
			if s.Code != tt.code || s.StartLine != tt.startLine || s.Code[s.HighlightStartOffset:s.HighlightEndOffset] != tt.highlight {
				t.Errorf("snippet %+v, highlight %q; want code %q from line %d highlighting %q",
					*s, s.Code[s.HighlightStartOffset:s.HighlightEndOffset], tt.code, tt.startLine, tt.highlight)
			}
			if s.Context == nil || *s.Context != `pool "ruby"` {
				t.Errorf("context = %v, want pool \"ruby\"", s.Context)
			}
		})
	}
	t.Run("unknown source", func(t *testing.T) {
		d := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "S", Subject: rng(1, 1, 0, 1, 2, 1)}
		got := DiagnosticsJSON(hcl.Diagnostics{d}, nil)
		if j := got.Diagnostics[0]; j.Range == nil || j.Snippet != nil || !got.Valid || got.WarningCount != 1 {
			t.Errorf("got %+v, want a valid document with one warning, its range and no snippet", got)
		}
	})
}

// FuzzDiagnosticsJSON converts the diagnostics of arbitrary sources: no input may panic it,
// the counts add up, and every highlight lies inside its snippet's code.
func FuzzDiagnosticsJSON(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("pool \"ruby\" {\n  vms = -1\n"))
	f.Add([]byte("box \"b\" {\n  url = \"https://x/y.box\"\n}\npool \"p\" { box = \"c\" }\n"))
	f.Add([]byte("\xff\xfe{{{\n\"\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		l := NewLoader()
		_, diags := l.LoadBytes("fuzz.hcl", src)
		got := DiagnosticsJSON(diags, l.Files())
		if got.ErrorCount+got.WarningCount != len(diags) || len(got.Diagnostics) != len(diags) || got.Valid == diags.HasErrors() {
			t.Fatalf("counts %d+%d, valid %v for %d diagnostics", got.ErrorCount, got.WarningCount, got.Valid, len(diags))
		}
		for _, d := range got.Diagnostics {
			if s := d.Snippet; s != nil && (s.HighlightStartOffset < 0 || s.HighlightStartOffset > s.HighlightEndOffset || s.HighlightEndOffset > len(s.Code)) {
				t.Fatalf("highlight %d..%d outside code of %d bytes", s.HighlightStartOffset, s.HighlightEndOffset, len(s.Code))
			}
		}
	})
}
