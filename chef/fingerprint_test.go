package chef

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// copyTree copies the folder src into a new temporary folder and returns it.
func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func fingerprintOf(t *testing.T, paths, recipes []string, node Node) Identity {
	t.Helper()
	res, err := Resolve(paths, recipes)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	id, err := Fingerprint(res, node)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	return id
}

func rubiesAttrs() map[string]any {
	return map[string]any{
		"rvm":   map[string]any{"rubies": []string{"1.9.2", "1.8.7"}, "default": "1.9.2"},
		"mysql": map[string]any{"server_root_password": "", "port": 3306},
	}
}

func TestFingerprintIsStable(t *testing.T) {
	recipes := []string{"rvm::multi", "java"}
	a := fingerprintOf(t, []string{mainPath, sitePath}, recipes, Node{Attributes: rubiesAttrs()})

	// The same content written in another order, with attributes built from other Go types in
	// another insertion order, hashes the same.
	dir := t.TempDir()
	for _, p := range []string{"site", "main"} {
		src := filepath.Join("testdata/resolve", p)
		var files []string
		filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, path)
			}
			return err
		})
		for i := len(files) - 1; i >= 0; i-- { // reverse creation order
			rel, _ := filepath.Rel("testdata/resolve", files[i])
			b, err := os.ReadFile(files[i])
			if err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755)
			if err := os.WriteFile(filepath.Join(dir, rel), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	attrs := map[string]any{}
	attrs["mysql"] = map[string]any{"port": 3306.0, "server_root_password": ""}
	attrs["rvm"] = map[string]any{"default": "1.9.2", "rubies": []any{"1.9.2", "1.8.7"}}
	b := fingerprintOf(t, []string{filepath.Join(dir, "main"), filepath.Join(dir, "site")}, recipes, Node{Attributes: attrs})
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("fingerprint of the same content differs (-first +second):\n%s", diff)
	}
	if c := fingerprintOf(t, []string{mainPath, sitePath}, recipes, Node{Attributes: rubiesAttrs()}); c.Hash != a.Hash {
		t.Errorf("second run: %s, first %s", c.Hash, a.Hash)
	}
	if len(a.Hash) != 64 || a.Version != FingerprintVersion {
		t.Errorf("identity %+v: want a hex sha256 and version %d", a, FingerprintVersion)
	}
}

func TestFingerprintChangesExactlyWhenItShould(t *testing.T) {
	baseRecipes := []string{"rvm", "git"}
	tests := []struct {
		name    string
		mutate  func(t *testing.T, root string) // root holds main/ and site/
		recipes []string
		attrs   map[string]any
		want    []string // Changes(before, after); nil means same hash
	}{
		{name: "nothing changed"},
		{
			name:   "unused cookbook edited",
			mutate: func(t *testing.T, root string) { appendTo(t, root, "main/mysql/recipes/client.rb", "package \"x\"\n") },
		},
		{
			name: "unused cookbook added",
			mutate: func(t *testing.T, root string) {
				writeFile(t, root, "main/zookeeper/recipes/default.rb", "log \"z\"\n")
			},
		},
		{
			name: "editor backups, swap files, OS litter and .git in a used cookbook",
			mutate: func(t *testing.T, root string) {
				for _, f := range []string{"recipes/default.rb~", "recipes/.default.rb.swp", "recipes/#default.rb#", ".DS_Store", "._metadata.rb", ".git/HEAD", "recipes/default.rb.orig"} {
					writeFile(t, root, "main/rvm/"+f, "litter")
				}
			},
		},
		{
			name:   "one byte of a used recipe",
			mutate: func(t *testing.T, root string) { appendTo(t, root, "main/rvm/recipes/default.rb", "\n") },
			want:   []string{"cookbook rvm changed"},
		},
		{
			name:   "one byte of a used template",
			mutate: func(t *testing.T, root string) { appendTo(t, root, "main/git/templates/default/gitconfig.erb", " ") },
			want:   []string{"cookbook git changed"},
		},
		{
			name:   "one byte of a used attribute file",
			mutate: func(t *testing.T, root string) { appendTo(t, root, "main/git/attributes/default.rb", "#") },
			want:   []string{"cookbook git changed"},
		},
		{
			name:   "one byte of the metadata of a dependency, from the first cookbook folder",
			mutate: func(t *testing.T, root string) { appendTo(t, root, "site/apt/metadata.rb", "#") },
			want:   []string{"cookbook apt changed"},
		},
		{
			name:   "the shadowed copy of a dependency",
			mutate: func(t *testing.T, root string) { appendTo(t, root, "main/apt/attributes/default.rb", "#") },
		},
		{
			name:   "a recipe of a used cookbook that the run list does not name",
			mutate: func(t *testing.T, root string) { appendTo(t, root, "main/rvm/recipes/install.rb", "#") },
			want:   []string{"cookbook rvm changed"},
		},
		{
			name: "executable bit of a used file",
			mutate: func(t *testing.T, root string) {
				if err := os.Chmod(filepath.Join(root, "main/git/recipes/default.rb"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"cookbook git changed"},
		},
		{
			name: "a cookbook folder earlier in the path now shadows a used cookbook",
			mutate: func(t *testing.T, root string) {
				writeFile(t, root, "site/git/recipes/default.rb", "log \"other git\"\n")
			},
			want: []string{"cookbook git changed"},
		},
		{
			name:    "recipe added to the run list",
			recipes: []string{"rvm", "git", "rvm::multi"},
			want:    []string{"recipes changed (+rvm::multi)", "cookbook sweeper added"},
		},
		{
			name:    "run list reordered",
			recipes: []string{"git", "rvm"},
			want:    []string{"recipes reordered"},
		},
		{
			name:  "node attributes",
			attrs: map[string]any{"rvm": map[string]any{"rubies": []string{"1.9.3"}}},
			want:  []string{"attributes changed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyTree(t, "testdata/resolve")
			paths := []string{filepath.Join(root, "site"), filepath.Join(root, "main")}
			before := fingerprintOf(t, paths, baseRecipes, Node{Attributes: rubiesAttrs()})
			if tt.mutate != nil {
				tt.mutate(t, root)
			}
			recipes, attrs := baseRecipes, rubiesAttrs()
			if tt.recipes != nil {
				recipes = tt.recipes
			}
			if tt.attrs != nil {
				attrs = tt.attrs
			}
			after := fingerprintOf(t, paths, recipes, Node{Attributes: attrs})
			if (before.Hash == after.Hash) != (tt.want == nil) {
				t.Errorf("hash before %s, after %s; want them equal: %v", before.Hash, after.Hash, tt.want == nil)
			}
			if diff := cmp.Diff(tt.want, Changes(before, after)); diff != "" {
				t.Errorf("Changes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFingerprintCoversRolesAndDataBags(t *testing.T) {
	root := copyTree(t, "testdata/resolve")
	node := Node{RolesPath: filepath.Join(root, "roles"), DataBagsPath: filepath.Join(root, "data_bags")}
	paths := []string{filepath.Join(root, "main")}
	before := fingerprintOf(t, paths, []string{"git"}, node)
	appendTo(t, root, "data_bags/users/travis.json", " ")
	after := fingerprintOf(t, paths, []string{"git"}, node)
	if diff := cmp.Diff([]string{"data bags changed"}, Changes(before, after)); diff != "" {
		t.Errorf("Changes (-want +got):\n%s", diff)
	}
	without := fingerprintOf(t, paths, []string{"git"}, Node{})
	if without.Hash == after.Hash || without.Roles != "" {
		t.Errorf("fingerprint without roles and data bags %+v equals one with them", without)
	}
}

func TestFingerprintRejectsRunListAttribute(t *testing.T) {
	res, err := Resolve([]string{mainPath}, []string{"git"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fingerprint(res, Node{Attributes: map[string]any{"run_list": []string{"recipe[x]"}}}); err == nil {
		t.Error("Fingerprint accepted a run_list attribute that would override the recipes")
	}
}

func appendTo(t *testing.T, root, rel, s string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(root, rel), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, root, rel, s string) {
	t.Helper()
	path := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
