package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/spec"
)

// decodeValidateJSON parses stdout as the validate --json document, failing on anything else.
func decodeValidateJSON(t *testing.T, stdout string) spec.ValidateJSON {
	t.Helper()
	var v spec.ValidateJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not the validate JSON document: %v\n%s", err, stdout)
	}
	return v
}

// TestValidateJSONReportsEachDiagnosticKind checks one case per kind of diagnostic: an error
// inside a block (snippet with the block as context), an error at the top level (null context),
// an error at the end of a truncated file, a warning on a valid fleet, an error with no place in
// a file (no range, no snippet) and a valid fleet (empty list).
func TestValidateJSONReportsEachDiagnosticKind(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name        string
		src         string // fleet.hcl; "" means -c names a missing file
		code        int
		severity    string
		summary     string
		line        int    // range.start.line; 0: no range
		context     string // snippet.context; "" means null
		highlighted string // the code between the highlight offsets
	}{
		{"error in a block", testBox + "pool \"ruby\" {\n  box = \"lucid32\"\n  vms = -1\n}\n",
			exitError, "error", "Invalid number of VMs", 7, `pool "ruby"`, "-1"},
		{"error at top level", testBox + "pool \"ruby\" { box = \"lucid32\" }\nbogus {}\n",
			exitError, "error", "Unsupported block type", 6, "", "bogus"},
		{"truncated file", testBox + "pool \"ruby\" {\n  box = \"lucid32\"\n",
			exitError, "error", "Unclosed configuration block", 5, `pool "ruby"`, "{"},
		{"warning on a valid fleet", testBox + `pool "ruby" {
  box = "lucid32"
  provision "chef_solo" {
    cookbooks = ["vendor/cookbooks"]
    recipes   = ["git"]
  }
}
`, exitOK, "warning", "Cookbook folder not found", 8, `pool "ruby"`, `["vendor/cookbooks"]`},
		{"error without a place", "", exitError, "error", "Cannot read configuration", 0, "", ""},
		{"valid", testBox + "pool \"ruby\" { box = \"lucid32\" }\n", exitOK, "", "", 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "missing.hcl")
			if c.src != "" {
				path = writeFile(t, dir, filepath.Join(c.name, "fleet.hcl"), c.src)
			}
			code, stdout, stderr := validate(t, "--json", "-c", path)
			if code != c.code {
				t.Errorf("exit code = %d, want %d", code, c.code)
			}
			if stderr != "" {
				t.Errorf("stderr = %q, want nothing with --json", stderr)
			}
			v := decodeValidateJSON(t, stdout)
			wantErrors := 0
			if c.severity == "error" {
				wantErrors = 1
			}
			if v.Valid != (c.code == exitOK) || v.ErrorCount != wantErrors || v.FormatVersion != "1.0" {
				t.Errorf("valid %v, error_count %d, format %q; want valid %v, %d errors, 1.0", v.Valid, v.ErrorCount, v.FormatVersion, c.code == exitOK, wantErrors)
			}
			if c.severity == "" {
				if v.Diagnostics == nil || len(v.Diagnostics) != 0 || !strings.Contains(stdout, `"diagnostics": []`) {
					t.Errorf("diagnostics = %v, want an empty list", v.Diagnostics)
				}
				return
			}
			if len(v.Diagnostics) == 0 {
				t.Fatalf("no diagnostics:\n%s", stdout)
			}
			d := v.Diagnostics[0]
			if d.Severity != c.severity || d.Summary != c.summary || d.Detail == "" {
				t.Errorf("diagnostic %s %q (detail %q), want %s %q with a detail", d.Severity, d.Summary, d.Detail, c.severity, c.summary)
			}
			if c.line == 0 {
				if d.Range != nil || d.Snippet != nil || strings.Contains(stdout, `"range"`) {
					t.Errorf("range %v, snippet %v; want both omitted", d.Range, d.Snippet)
				}
				return
			}
			if d.Range == nil || d.Snippet == nil {
				t.Fatalf("range %v, snippet %v; want both", d.Range, d.Snippet)
			}
			if d.Range.Filename != path || d.Range.Start.Line != c.line || d.Snippet.StartLine != c.line {
				t.Errorf("range %+v, snippet start line %d; want %s line %d", *d.Range, d.Snippet.StartLine, path, c.line)
			}
			src, _ := os.ReadFile(path)
			if got := string(src[d.Range.Start.Byte:d.Range.End.Byte]); got != c.highlighted {
				t.Errorf("range covers %q, want %q", got, c.highlighted)
			}
			s := d.Snippet
			if got := s.Code[s.HighlightStartOffset:s.HighlightEndOffset]; got != c.highlighted {
				t.Errorf("snippet highlights %q in %q, want %q", got, s.Code, c.highlighted)
			}
			if (s.Context == nil) != (c.context == "") || (s.Context != nil && *s.Context != c.context) {
				t.Errorf("snippet context = %v, want %q", deref(s.Context), c.context)
			}
		})
	}
}

// TestValidateJSONGolden checks the whole document for a fleet with several problems against
// testdata/validate-json.golden (the temp folder written as $DIR); -update rewrites it.
func TestValidateJSONGolden(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "fleet.hcl", `host {
  state_dir = "/var/lib/fleet"
}
box "lucid32" {
  version = "2.1.0"
  url     = "https://boxes.example/lucid32.box"
}
pool "ruby" {
  box    = "lucid23"
  vms    = -1
  memory = "lots"
}
`)
	code, stdout, _ := validate(t, "--json", "-c", path)
	if code != exitError {
		t.Errorf("exit code = %d, want %d", code, exitError)
	}
	got := strings.ReplaceAll(stdout, dir, "$DIR")
	golden := filepath.Join("testdata", "validate-json.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("validate --json differs from %s (go test -run TestValidateJSONGolden ./agent/ -update rewrites it):\n%s", golden, got)
	}
}

// TestPlanJSONDiagnostics checks plan --json: an invalid fleet prints the validate --json
// document on stdout and exits 1; a valid fleet's warnings ride in the plan as "diagnostics".
func TestPlanJSONDiagnostics(t *testing.T) {
	t.Run("invalid", func(t *testing.T) {
		path := writeFile(t, t.TempDir(), "fleet.hcl", "pool \"ruby\" {\n  box = \"nope\"\n")
		code, stdout, stderr := runCLI(t, "plan", "--json", "-c", path)
		if code != exitError || stderr != "" {
			t.Errorf("exit %d, stderr %q; want exit 1 and nothing on stderr", code, stderr)
		}
		if v := decodeValidateJSON(t, stdout); v.Valid || v.ErrorCount == 0 || v.Diagnostics[0].Range == nil {
			t.Errorf("document %+v, want invalid with located errors", v)
		}
	})
	t.Run("warnings", func(t *testing.T) {
		h := newSimHost(t)
		path := h.writeFleet(t, 1, 1)
		src, _ := os.ReadFile(path)
		os.WriteFile(path, []byte(strings.Replace(string(src), "file://", "https://127.0.0.1:1/", 1)), 0o644)
		code, stdout, stderr := runCLI(t, "plan", "--json", "-c", path)
		if code != exitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		var p struct {
			FormatVersion int                   `json:"format_version"`
			Actions       []json.RawMessage     `json:"actions"`
			Diagnostics   []spec.DiagnosticJSON `json:"diagnostics"`
		}
		if err := json.Unmarshal([]byte(stdout), &p); err != nil {
			t.Fatalf("plan JSON: %v\n%s", err, stdout)
		}
		if p.FormatVersion != 1 || len(p.Actions) == 0 || len(p.Diagnostics) != 1 ||
			p.Diagnostics[0].Severity != "warning" || p.Diagnostics[0].Summary != "Unverified box download" || p.Diagnostics[0].Snippet == nil {
			t.Errorf("plan %+v, want the actions and one located warning Unverified box download", p)
		}
		if strings.Contains(stderr, "Warning") {
			t.Errorf("stderr repeats the warning:\n%s", stderr)
		}
	})
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
