package spec

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestWriteDiagnosticsGolden renders the diagnostics of the broken example exactly as
// `agent validate` prints them off a terminal (no colour, no wrapping) and compares the text
// with testdata/broken.golden. Run `go test ./spec -run Golden -update` after an intended change.
func TestWriteDiagnosticsGolden(t *testing.T) {
	l := NewLoader()
	_, diags := l.Load("../examples/broken.hcl")
	var buf bytes.Buffer
	if err := l.WriteDiagnostics(&buf, diags, 0, false); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/broken.golden"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("rendered diagnostics (-golden +got):\n%s", diff)
	}
}
