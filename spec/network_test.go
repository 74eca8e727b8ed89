package spec

import (
	"strings"
	"testing"
)

// TestParseHostServiceAcceptsOnlyLoopbackHostPort covers the host_services entry syntax: IPv4
// and bracketed IPv6 loopback literals with a port; names, other addresses, zones and bad ports
// are refused.
func TestParseHostServiceAcceptsOnlyLoopbackHostPort(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // "" means an error is expected
	}{
		{"ipv4 loopback", "127.0.0.1:3142", "127.0.0.1:3142"},
		{"other 127/8 address", "127.1.2.3:80", "127.1.2.3:80"},
		{"ipv6 loopback", "[::1]:8080", "[::1]:8080"},
		{"v4-mapped loopback", "[::ffff:127.0.0.1]:80", "127.0.0.1:80"},
		{"highest port", "127.0.0.1:65535", "127.0.0.1:65535"},
		{"name", "localhost:80", ""},
		{"private address", "10.0.2.2:6379", ""},
		{"unspecified", "0.0.0.0:80", ""},
		{"no port", "127.0.0.1", ""},
		{"empty port", "127.0.0.1:", ""},
		{"port zero", "127.0.0.1:0", ""},
		{"port too large", "127.0.0.1:65536", ""},
		{"signed port", "127.0.0.1:+80", ""},
		{"zone", "[fe80::1%lo]:80", ""},
		{"unbracketed ipv6", "::1:80", ""},
		{"bracket without port", "[::1]", ""},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseHostService(c.in)
			if c.want == "" {
				if err == nil {
					t.Fatalf("ParseHostService(%q) = %v, want an error", c.in, got)
				}
				if !strings.Contains(err.Error(), "host service") {
					t.Errorf("error %q does not name the host service", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHostService(%q): %v", c.in, err)
			}
			if got.String() != c.want {
				t.Errorf("ParseHostService(%q) = %s, want %s", c.in, got, c.want)
			}
		})
	}
}

// TestNetworkBlockDefaultsAndValues checks what a valid network block decodes to, and that a
// pool without one is isolated with no host services.
func TestNetworkBlockDefaultsAndValues(t *testing.T) {
	const boxes = `
box "tiny" {
  version = "1"
  url     = "file:tiny.box"
  format  = "qemu"
}
`
	cases := []struct {
		name, pool string
		want       Network
	}{
		{"no block", `pool "p" {
  box      = "tiny"
  provider = "qemu"
}`, Network{Egress: EgressIsolated}},
		{"empty block", `pool "p" {
  box      = "tiny"
  provider = "qemu"
  network {}
}`, Network{Egress: EgressIsolated}},
		{"none with services", `pool "p" {
  box      = "tiny"
  provider = "qemu"
  network {
    egress        = "none"
    host_services = ["127.0.0.1:3142", "[::1]:8080"]
  }
}`, Network{Egress: EgressNone, HostServices: []string{"127.0.0.1:3142", "[::1]:8080"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fleet, diags := LoadBytes("fleet.hcl", []byte(boxes+c.pool))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got := fleet.Pools[0].Network
			got.EgressRange, got.HostServicesRange = c.want.EgressRange, c.want.HostServicesRange
			if got.Egress != c.want.Egress || strings.Join(got.HostServices, ",") != strings.Join(c.want.HostServices, ",") {
				t.Errorf("network = %+v, want %+v", got, c.want)
			}
		})
	}
}

// FuzzParseHostService checks that no entry panics the parser and that every accepted entry is
// a loopback address with a non-zero port that parses again to the same value.
func FuzzParseHostService(f *testing.F) {
	for _, s := range []string{"127.0.0.1:3142", "[::1]:80", "[", "]:", "localhost:1", "127.0.0.1:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := ParseHostService(s)
		if err != nil {
			return
		}
		if !ap.Addr().IsLoopback() || ap.Port() == 0 {
			t.Fatalf("ParseHostService(%q) = %v accepted", s, ap)
		}
		again, err := ParseHostService(ap.String())
		if err != nil || again != ap {
			t.Fatalf("ParseHostService(%q) = %v; re-parse gives %v, %v", s, ap, again, err)
		}
	})
}
