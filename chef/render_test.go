package chef

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestSoloRB(t *testing.T) {
	tests := []struct {
		name   string
		node   Node
		golden string
	}{
		{"cookbooks only", Node{}, "solo.rb"},
		{"with roles and data bags", Node{RolesPath: "testdata/resolve/roles", DataBagsPath: "testdata/resolve/data_bags"}, "solo-roles-data-bags.rb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { golden(t, tt.golden, SoloRB(tt.node)) })
	}
}

func TestNodeJSON(t *testing.T) {
	tests := []struct {
		name    string
		runList []string
		attrs   map[string]any
		golden  string
	}{
		{"travis worker run list and rubies", []string{"apt", "build-essential", "rvm::multi"}, map[string]any{
			"rvm":   map[string]any{"rubies": []any{map[string]any{"name": "1.9.2", "arguments": "--with-opt"}, map[string]any{"name": "1.8.7"}}, "default": "1.9.2"},
			"mysql": map[string]any{"server_root_password": ""},
			"postgresql": map[string]any{
				"max_connections": 256,
			},
		}, "node.json"},
		{"empty", nil, nil, "node-empty.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NodeJSON(tt.runList, tt.attrs)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, got)
		})
	}
}

// listBundle returns one line per tar entry: type, mode and name (and the target of a link),
// and the contents of solo.rb and node.json.
func listBundle(t *testing.T, b []byte) (entries []string, files map[string]string) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files = map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%c %04o %s", h.Typeflag, h.Mode, h.Name)
		if h.Linkname != "" {
			line += " -> " + h.Linkname
		}
		if !h.ModTime.Equal(bundleTime) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: time %v uid %d gid %d, want fixed", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		entries = append(entries, line)
		body, _ := io.ReadAll(tr)
		files[h.Name] = string(body)
	}
	return entries, files
}

func TestBundleHoldsOnlyTheNeededCookbooks(t *testing.T) {
	root := copyTree(t, "testdata/resolve")
	writeFile(t, root, "main/rvm/recipes/default.rb~", "editor backup")
	writeFile(t, root, "main/rvm/.git/HEAD", "ref: refs/heads/master")
	if err := os.Chmod(filepath.Join(root, "main/git/attributes/default.rb"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("gitconfig.erb", filepath.Join(root, "main/git/templates/default/gitconfig.ubuntu.erb")); err != nil {
		t.Fatal(err)
	}
	res, err := Resolve([]string{filepath.Join(root, "main"), filepath.Join(root, "site")}, []string{"rvm::multi"})
	if err != nil {
		t.Fatal(err)
	}
	node := Node{Attributes: rubiesAttrs(), RolesPath: filepath.Join(root, "roles"), DataBagsPath: filepath.Join(root, "data_bags")}
	b, err := Bundle(res, node)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Bundle(res, node)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Error("two bundles of the same resolution differ")
	}
	entries, files := listBundle(t, b)
	golden(t, "bundle.txt", []byte(strings.Join(entries, "\n")+"\n"))
	if files[SoloRBName] != string(SoloRB(node)) {
		t.Errorf("bundled solo.rb:\n%s", files[SoloRBName])
	}
	js, _ := NodeJSON(res.RunList, node.Attributes)
	if files[NodeJSONName] != string(js) {
		t.Errorf("bundled node.json:\n%s", files[NodeJSONName])
	}
}

func TestBundleRefusesSymlinksOutOfTheCookbook(t *testing.T) {
	root := copyTree(t, "testdata/resolve")
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "main/git/files")); err != nil {
		t.Fatal(err)
	}
	res, err := Resolve([]string{filepath.Join(root, "main")}, []string{"git"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Bundle(res, Node{}); err == nil {
		t.Error("Bundle shipped a symlink to /etc/passwd")
	}
}
