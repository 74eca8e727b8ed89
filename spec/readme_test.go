package spec

import (
	"os"
	"strings"
	"testing"
)

// TestREADMECarriesTheFleetHCLReference keeps the README's fleet.hcl reference identical to
// docs/FLEET-HCL.md (headings one level down): an attribute documented in one place only is
// a doc bug. scripts/sync-readme.sh copies it over.
func TestREADMECarriesTheFleetHCLReference(t *testing.T) {
	doc, err := os.ReadFile("../docs/FLEET-HCL.md")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(doc)), "\n")
	if !strings.HasPrefix(lines[0], "# ") {
		t.Fatalf("docs/FLEET-HCL.md starts with %q, want a title", lines[0])
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "#") {
			lines[i] = "#" + l
		}
	}
	want := strings.TrimSpace(strings.Join(lines[1:], "\n"))
	if !strings.Contains(string(readme), want) {
		t.Error("README.md's fleet.hcl reference differs from docs/FLEET-HCL.md: run scripts/sync-readme.sh")
	}
}
