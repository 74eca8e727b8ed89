package reconcile

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoHypervisorImports checks reconcile (and its subpackages) import no provider: the
// VirtualBox and QEMU providers adapt to reconcile's interfaces, never the other way round.
func TestNoHypervisorImports(t *testing.T) {
	forbidden := []string{"github.com/fleet-agent/fleet/vbox", "github.com/fleet-agent/fleet/vboxprovider",
		"github.com/fleet-agent/fleet/qemu", "github.com/fleet-agent/fleet/guest", "github.com/fleet-agent/fleet/queue"}
	files, _ := filepath.Glob("*.go")
	sub, _ := filepath.Glob("*/*.go")
	for _, f := range append(files, sub...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}
