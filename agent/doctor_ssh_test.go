package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
)

// TestGoldenHardeningOptOutDoctorWarns: a pool with ssh { allow_password = true } gets a
// doctor warning naming the pool and the attribute, and an image without hardening (so
// turning the opt-out on or off rebuilds the golden); other pools get neither.
func TestGoldenHardeningOptOutDoctorWarns(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "fleet.hcl", `host { state_dir = "`+filepath.Join(dir, "state")+`" }
box "b" {
  version = "1"
  url     = "file:b.box"
}
pool "legacy" {
  box = "b"
  ssh { allow_password = true }
}
pool "safe" {
  box = "b"
}
`)
	f, diags := spec.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := checkPasswordPools(f)
	if len(got) != 1 || got[0].sev != sevWarn || got[0].what != "pool legacy ssh" ||
		!strings.Contains(got[0].detail, "fleet.hcl:8") || !strings.Contains(got[0].detail, "not hardened") {
		t.Fatalf("findings = %+v, want one warning for pool legacy at fleet.hcl:8", got)
	}
	d := reconcile.NewDesired(f, nil)
	for _, p := range d.Pools {
		want := reconcile.HardeningVersion
		if p.Name == "legacy" {
			want = ""
		}
		if p.Image.Hardening != want {
			t.Errorf("pool %s hardening = %q, want %q", p.Name, p.Image.Hardening, want)
		}
	}
	if d.Pools[0].Hash == reconcile.ImageHash(reconcile.Image{Box: "b", BoxVersion: "1", Hardening: reconcile.HardeningVersion}) {
		t.Errorf("opting out does not change the image hash")
	}
}
