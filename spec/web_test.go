package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWebBlockListen(t *testing.T) {
	const base = "box \"b\" {\n  version = \"1\"\n  url = \"file:b.box\"\n}\npool \"p\" { box = \"b\" }\n"
	cases := []struct {
		name, src, want, wantErr string
	}{
		{"no block serves nothing", base, "", ""},
		{"loopback address", base + "web { listen = \"127.0.0.1:8383\" }\n", "127.0.0.1:8383", ""},
		{"missing port is a located error", base + "web { listen = \"127.0.0.1\" }\n", "", "fleet.hcl:6,16-27: Invalid listen address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, diags := LoadBytes("/etc/fleet/fleet.hcl", []byte(c.src))
			if c.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), c.wantErr) {
					t.Fatalf("diagnostics %v, want %q", diags, c.wantErr)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if f.Web.Listen != c.want {
				t.Errorf("web listen %q, want %q", f.Web.Listen, c.want)
			}
		})
	}
}

func TestWebBlockAuthFileAndReadOnly(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "web.token")
	if err := os.WriteFile(tok, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open.token")
	if err := os.WriteFile(open, []byte("s3cret-token\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const base = "box \"b\" {\n  version = \"1\"\n  url = \"file:b.box\"\n}\npool \"p\" { box = \"b\" }\n"
	cases := []struct {
		name, web     string
		wantFile      string
		wantRO        bool
		wantErr, warn string
	}{
		{"no auth file: read-only by default", `web { listen = "127.0.0.1:8383" }`, "", false, "", ""},
		{"auth file", `web { auth_file = "` + tok + `" }`, tok, false, "", ""},
		{"read only", `web { read_only = true }`, "", true, "", ""},
		{"missing auth file is a located error", `web { auth_file = "` + filepath.Join(dir, "nope") + `" }`, "", false, "fleet.hcl:6,19-", ""},
		{"auth file readable by others warns", `web { auth_file = "` + open + `" }`, open, false, "", "Token file readable by others"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, diags := LoadBytes(filepath.Join(dir, "fleet.hcl"), []byte(base+c.web+"\n"))
			if c.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), c.wantErr) || !strings.Contains(diags.Error(), "Unreadable auth_file") {
					t.Fatalf("diagnostics %v, want %q", diags, c.wantErr)
				}
				if strings.Contains(diags.Error(), "s3cret-token") {
					t.Fatalf("diagnostics show the token: %v", diags)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if f.Web.AuthFile != c.wantFile || f.Web.ReadOnly != c.wantRO {
				t.Errorf("web = %+v, want auth_file %q read_only %v", f.Web, c.wantFile, c.wantRO)
			}
			if (c.warn == "" && len(diags) > 0) || (c.warn != "" && !strings.Contains(diags.Error(), c.warn)) {
				t.Errorf("diagnostics %v, want warning %q", diags, c.warn)
			}
		})
	}
}
