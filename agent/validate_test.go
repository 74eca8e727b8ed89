package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// validate runs `agent validate` in-process and returns its exit code, stdout and stderr.
func validate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"validate"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFile writes src to name under dir, creating folders, and returns its path.
func writeFile(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const testBox = `box "lucid32" {
  version = "2.1.0"
  url     = "file:lucid32.box"
}
`

// TestValidateReportsFileAndLine checks the cases the issue names: each invalid file exits 1
// and prints the file name, the line of the problem, and what is wrong.
func TestValidateReportsFileAndLine(t *testing.T) {
	t.Setenv("UNSET_VAR", "")
	os.Unsetenv("UNSET_VAR")
	cases := []struct {
		name string
		src  string
		want []string // substrings of stderr
	}{
		{"empty file", "", []string{"Error: Empty configuration file", "line 1"}},
		{"whitespace only", "\n  \n\t\n", []string{"Error: Empty configuration file", "line 1"}},
		{"negative vms", testBox + "pool \"ruby\" {\n  box = \"lucid32\"\n  vms = -1\n}\n",
			[]string{"Error: Invalid number of VMs", "line 7", "vms = -1"}},
		{"missing box", testBox + "pool \"ruby\" {\n  box = \"lucid23\"\n}\n",
			[]string{"Error: Unknown box", "line 6", `did you mean "lucid32"?`}},
		{"unset env var", "queue {\n  redis = env(\"UNSET_VAR\")\n}\n" + testBox + "pool \"ruby\" { box = \"lucid32\" }\n",
			[]string{"Error: Environment variable not set", "line 2", "UNSET_VAR is not set"}},
		{"truncated file", testBox + "pool \"ruby\" {\n  box = \"lucid32\"\n",
			[]string{"Error: Unclosed configuration block", "line 5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "fleet.hcl", c.src)
			code, stdout, stderr := validate(t, "-c", path)
			if code != exitError {
				t.Errorf("exit code = %d, want %d", code, exitError)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing for an invalid fleet", stdout)
			}
			for _, w := range append(c.want, "on "+path+" ", path+" is invalid") {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestValidateAcceptsShippedExamples checks fleet.hcl.example and the valid examples exit 0 and
// that the broken example exits 1 naming each marked line.
func TestValidateAcceptsShippedExamples(t *testing.T) {
	for _, path := range []string{"../fleet.hcl.example", "../examples/local-boxes.hcl"} {
		code, stdout, stderr := validate(t, "-c", path)
		if code != exitOK || !strings.Contains(stdout, path+" is valid") {
			t.Errorf("validate %s = %d, stdout %q, stderr:\n%s", path, code, stdout, stderr)
		}
		if strings.Contains(stderr, "Error:") {
			t.Errorf("validate %s printed errors:\n%s", path, stderr)
		}
	}
	code, _, stderr := validate(t, "-c", "../examples/broken.hcl")
	if code != exitError {
		t.Errorf("validate broken.hcl = %d, want %d", code, exitError)
	}
	src, err := os.ReadFile("../examples/broken.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.Contains(line, "# ERROR:") && !strings.HasPrefix(line, "#") {
			want := "on ../examples/broken.hcl line " + strconv.Itoa(i+1)
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
	}
}

// TestValidateFolderWithOverride checks -c DIR: the override's bad value is reported on the
// override file's line, and fixing it makes the folder valid.
func TestValidateFolderWithOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "fleet.hcl", testBox+"pool \"ruby\" {\n  box = \"lucid32\"\n  vms = 5\n}\n")
	over := writeFile(t, dir, "local_override.hcl", "pool \"ruby\" {\n  vms = 500\n}\n")
	code, _, stderr := validate(t, "-c", dir)
	if code != exitError || !strings.Contains(stderr, "on "+over+" line 2") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and the override's line 2", code, stderr)
	}
	writeFile(t, dir, "local_override.hcl", "pool \"ruby\" {\n  vms = 2\n}\n")
	code, stdout, stderr := validate(t, "-c", dir)
	if code != exitOK || !strings.Contains(stdout, "VMs: 2") {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 0 with the override's 2 VMs", code, stdout, stderr)
	}
}

// TestValidateResolvesRecipes checks that recipes are resolved against the pool's cookbooks and
// each failure is reported on the recipe's own line with chef's suggestion.
func TestValidateResolvesRecipes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "cookbooks/git/recipes/default.rb", "package 'git'\n")
	writeFile(t, dir, "cookbooks/rvm/recipes/multi.rb", "# rubies\n")
	writeFile(t, dir, "cookbooks/rvm/metadata.rb", "name 'rvm'\nversion '1.0.0'\n")
	pool := func(recipes string) string {
		return testBox + `pool "ruby" {
  box = "lucid32"
  provision "chef_solo" {
    recipes = [
` + recipes + `
    ]
  }
}
`
	}
	cases := []struct {
		name    string
		recipes string
		code    int
		want    []string
	}{
		{"all recipes exist", `"git", "rvm::multi"`, exitOK, nil},
		{"unknown cookbook and recipe", "      \"gti\",\n      \"rvm::mutli\",", exitError, []string{
			"Error: Cookbook not found", "line 9", "did you mean git?",
			"Error: Recipe not found", "line 10", "did you mean rvm::multi?",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, dir, "fleet.hcl", pool(c.recipes))
			code, _, stderr := validate(t, "-c", path)
			if code != c.code {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestValidateWarnsAboutMissingCookbookFolders checks that a cookbook folder absent from this
// machine is a warning: the fleet is valid, but its recipes could not be checked.
func TestValidateWarnsAboutMissingCookbookFolders(t *testing.T) {
	path := writeFile(t, t.TempDir(), "fleet.hcl", testBox+`pool "ruby" {
  box = "lucid32"
  provision "chef_solo" {
    cookbooks = ["vendor/cookbooks"]
    recipes   = ["git"]
  }
}
`)
	code, _, stderr := validate(t, "-c", path)
	if code != exitOK || !strings.Contains(stderr, "Warning: Cookbook folder not found") || !strings.Contains(stderr, "line 8") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 0 and a warning on line 8", code, stderr)
	}
}

// TestValidateWithoutConfig checks the exit code when no fleet.hcl can be found.
func TestValidateWithoutConfig(t *testing.T) {
	t.Chdir(t.TempDir())
	code, _, stderr := validate(t)
	if code != exitError || !strings.Contains(stderr, "no fleet.hcl found") {
		t.Errorf("exit %d, stderr %q; want exit 1 saying no fleet.hcl was found", code, stderr)
	}
	code, _, stderr = validate(t, "-c", "missing.hcl")
	if code != exitError || !strings.Contains(stderr, "Cannot read configuration") {
		t.Errorf("exit %d, stderr %q; want exit 1 saying the file cannot be read", code, stderr)
	}
}
