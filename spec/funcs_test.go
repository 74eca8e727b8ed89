package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvFunction checks env("NAME") and env("NAME", "default") through a whole load.
func TestEnvFunction(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string // "" value: set to empty; absent: unset
		expr    string
		want    string
		summary string // expected error summary; empty for success
		detail  string // substring the error detail must hold
	}{
		{name: "set variable", env: map[string]string{"FLEET_T_REDIS": "redis://10.0.0.1:6379/0"}, expr: `env("FLEET_T_REDIS")`, want: "redis://10.0.0.1:6379/0"},
		{name: "set variable beats default", env: map[string]string{"FLEET_T_REDIS": "redis://10.0.0.1:6379/0"}, expr: `env("FLEET_T_REDIS", "redis://127.0.0.1:6379/1")`, want: "redis://10.0.0.1:6379/0"},
		{name: "unset variable takes default", expr: `env("FLEET_T_REDIS", "redis://127.0.0.1:6379/1")`, want: "redis://127.0.0.1:6379/1"},
		{name: "unset variable without default", expr: `env("FLEET_T_REDIS")`, summary: "Environment variable not set", detail: `FLEET_T_REDIS is not set`},
		{name: "empty value is set", env: map[string]string{"FLEET_T_REDIS": ""}, expr: `env("FLEET_T_REDIS", "redis://127.0.0.1:6379/1")`, summary: "Invalid Redis URL"},
		{name: "too many arguments", expr: `env("FLEET_T_REDIS", "a", "b")`, summary: "Invalid function argument"},
		{name: "interpolation", env: map[string]string{"FLEET_T_HOST": "q1"}, expr: `"redis://${env("FLEET_T_HOST")}:6379/0"`, want: "redis://q1:6379/0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"FLEET_T_REDIS", "FLEET_T_HOST"} {
				t.Setenv(k, "")
				if v, ok := c.env[k]; ok {
					os.Setenv(k, v)
				} else {
					os.Unsetenv(k)
				}
			}
			src := "queue {\n  redis = " + c.expr + "\n}\n" + minimalBox + `pool "ruby" { box = "lucid32" }`
			fleet, diags := LoadBytes("fleet.hcl", []byte(src))
			if c.summary == "" {
				if diags.HasErrors() {
					t.Fatalf("unexpected diagnostics: %v", diags)
				}
				if fleet.Queue.Redis != c.want {
					t.Errorf("redis = %q, want %q", fleet.Queue.Redis, c.want)
				}
				return
			}
			if len(diags) != 1 || diags[0].Summary != c.summary || !strings.Contains(diags[0].Detail, c.detail) || diags[0].Subject.Start.Line != 2 {
				t.Errorf("diagnostics = %v; want one %q on line 2 mentioning %q", diags, c.summary, c.detail)
			}
		})
	}
}

// TestFileFunctionReadsRelativeToTheDeclaringFile loads a fleet from another folder than the
// working directory and checks that file() read next to the fleet file.
func TestFileFunctionReadsRelativeToTheDeclaringFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "redis-url"), []byte("redis://secret.example.org:6379/3"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "motd.txt"), []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
queue { redis = file("secrets/redis-url") }
` + minimalBox + `
pool "ruby" {
  box = "lucid32"
  provision "chef_solo" {
    recipes = ["motd"]
    json    = { motd = file("motd.txt") }
  }
}
`
	path := filepath.Join(dir, "fleet.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	fleet, diags := Load(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got, want := fleet.Queue.Redis, "redis://secret.example.org:6379/3"; got != want {
		t.Errorf("redis = %q, want %q", got, want)
	}
	if got, want := fleet.Pool("ruby").Provision.Attributes["motd"], "hello\n"; got != want {
		t.Errorf("json motd = %q, want %q (content verbatim)", got, want)
	}
}
