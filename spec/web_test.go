package spec

import (
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
