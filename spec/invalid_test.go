package spec

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// markerRe finds `# ERROR: summary` and `# WARNING: summary` markers; a line may hold several.
var markerRe = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*([^#]*[^#\s])`)

// want is one diagnostic a marker expects: where and what.
type want struct {
	File     string
	Line     int
	Severity string
	Summary  string
}

// markers returns the diagnostics the marker comments of files expect.
func markers(t *testing.T, files []string) []want {
	t.Helper()
	var out []want
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			for _, m := range markerRe.FindAllStringSubmatch(line, -1) {
				out = append(out, want{File: filepath.Base(f), Line: i + 1, Severity: m[1], Summary: m[2]})
			}
		}
	}
	return out
}

// got turns diagnostics into the same shape as markers; a diagnostic without a place is kept
// with line 0 so that it fails the comparison.
func got(diags hcl.Diagnostics) []want {
	var out []want
	for _, d := range diags {
		w := want{Severity: "ERROR", Summary: d.Summary}
		if d.Severity == hcl.DiagWarning {
			w.Severity = "WARNING"
		}
		if d.Subject != nil {
			w.File, w.Line = filepath.Base(d.Subject.Filename), d.Subject.Start.Line
		}
		out = append(out, w)
	}
	return out
}

func sortWants(ws []want) {
	sort.Slice(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Severity+a.Summary < b.Severity+b.Summary
	})
}

// TestInvalidFilesReportEveryMarkedDiagnostic loads each file (or folder) under testdata/invalid
// and checks that the diagnostics are exactly the marked ones: same file, line, severity and
// summary, none missing and none unmarked. It also checks that no fleet comes back.
func TestInvalidFilesReportEveryMarkedDiagnostic(t *testing.T) {
	t.Setenv("FLEET_SPEC_TEST_UNSET_VAR", "")
	os.Unsetenv("FLEET_SPEC_TEST_UNSET_VAR") // restored by t.Setenv's cleanup
	paths, err := filepath.Glob("testdata/invalid/*")
	if err != nil {
		t.Fatal(err)
	}
	// The broken example shipped to users is held to the same markers.
	paths = append(paths, "../examples/broken.hcl")
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			files := []string{path}
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				files, _ = filepath.Glob(filepath.Join(path, "*.hcl"))
			}
			wants := markers(t, files)
			if len(wants) == 0 {
				t.Fatalf("%s has no # ERROR: markers; an invalid case must say what it expects", path)
			}
			fleet, diags := Load(path)
			if fleet != nil {
				t.Errorf("Load(%s) returned a fleet along with errors", path)
			}
			gots := got(diags)
			sortWants(wants)
			sortWants(gots)
			if diff := cmp.Diff(wants, gots); diff != "" {
				t.Errorf("diagnostics (-marked +reported):\n%s\nall diagnostics:\n%s", diff, diags)
			}
		})
	}
}

// TestEmptyInputIsAnError covers the inputs that cannot carry a marker.
func TestEmptyInputIsAnError(t *testing.T) {
	cases := []struct {
		name, src string
	}{
		{"empty", ""},
		{"whitespace only", " \n\t\n  \n"},
		{"comments only", "# nothing\n// nothing either\n/* still nothing */\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fleet, diags := LoadBytes("fleet.hcl", []byte(c.src))
			if fleet != nil {
				t.Fatalf("LoadBytes returned a fleet of %d pools for empty input", len(fleet.Pools))
			}
			want := []want{{File: "fleet.hcl", Line: 1, Severity: "ERROR", Summary: "Empty configuration file"}}
			if diff := cmp.Diff(want, got(diags)); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadMissingPathIsAnError checks the diagnostics for paths that hold no configuration.
func TestLoadMissingPathIsAnError(t *testing.T) {
	cases := []struct {
		name, path, summary string
	}{
		{"missing file", filepath.Join(t.TempDir(), "fleet.hcl"), "Cannot read configuration"},
		{"folder without hcl files", t.TempDir(), "No configuration files"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fleet, diags := Load(c.path)
			if fleet != nil || !diags.HasErrors() {
				t.Fatalf("Load(%s) = %v, %v; want no fleet and an error", c.path, fleet, diags)
			}
			if diags[0].Summary != c.summary {
				t.Errorf("summary = %q, want %q", diags[0].Summary, c.summary)
			}
		})
	}
}
