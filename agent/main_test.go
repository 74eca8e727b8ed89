package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitCodesForUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    int
		wantErr string
	}{
		{"version succeeds", []string{"version"}, exitOK, ""},
		{"unknown flag is a usage error", []string{"version", "--bogus"}, exitUsage, "unknown flag: --bogus"},
		{"unknown command is a usage error", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"extra argument is a usage error", []string{"version", "extra"}, exitUsage, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit code = %d, want %d (stderr: %s)", code, tt.want, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantErr)
			}
		})
	}
}

func TestVersionPrintsGoVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "agent ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: code %d, output %q", code, out)
	}
}

func TestConfigFileSearchOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	a := &app{}
	if _, err := a.configFile(); err == nil {
		t.Fatal("configFile with no fleet.hcl anywhere: want an error naming the paths tried")
	} else if !strings.Contains(err.Error(), "fleet.hcl") {
		t.Errorf("error %q does not name the paths tried", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fleet.hcl"), []byte("#"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := a.configFile(); err != nil || got != "fleet.hcl" {
		t.Errorf("configFile = %q, %v; want ./fleet.hcl first", got, err)
	}
	a.configPath = "/x/other.hcl"
	if got, _ := a.configFile(); got != "/x/other.hcl" {
		t.Errorf("configFile with -c = %q, want the -c value", got)
	}
}
