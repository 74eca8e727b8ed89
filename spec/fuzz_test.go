package spec

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary sources to the loader: no input may panic it, and a fleet comes back
// only without errors and with at least one pool.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.hcl")
	more, _ := filepath.Glob("../examples/*.hcl")
	seeds = append(append(seeds, more...), "../fleet.hcl.example")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(""))
	f.Add([]byte(`pool "a" { box = "b" }` + "\n" + `box "b" {` + "\n" + `version = "1"` + "\n" + `url = "file:x"` + "\n}"))
	f.Fuzz(func(t *testing.T, src []byte) {
		fleet, diags := LoadBytes("fuzz.hcl", src)
		if fleet != nil && (diags.HasErrors() || len(fleet.Pools) == 0) {
			t.Fatalf("fleet returned with errors %v or without pools", diags)
		}
		if fleet == nil && !diags.HasErrors() {
			t.Fatalf("no fleet and no error")
		}
	})
}

// FuzzParseSize checks that sizes never panic and never come back negative.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"4MiB", "0", "1GB", "99999999999TiB", " 1 KiB", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSize(s); err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

// FuzzParseBoxURL checks that box URLs never panic and that an accepted one is normalised to a
// value that is accepted again unchanged.
func FuzzParseBoxURL(f *testing.F) {
	for _, s := range []string{"https://a/b.box", "file:x.box", "file:///x", "ftp://a", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseBoxURL(s, "/etc/fleet")
		if err != nil {
			return
		}
		again, err := parseBoxURL(u, "/etc/fleet")
		if err != nil || again != u {
			t.Fatalf("parseBoxURL(%q) = %q, which parses again as %q, %v", s, u, again, err)
		}
	})
}

// BenchmarkLoadExample measures loading fleet.hcl.example from disk, parse to validated fleet.
func BenchmarkLoadExample(b *testing.B) {
	for b.Loop() {
		if _, diags := Load("../fleet.hcl.example"); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
