package spec

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// TestFolderMergesOverridesAttributeByAttribute loads testdata/override as a folder: the base
// files form one fleet, override.hcl and then z_override.hcl replace only the attributes they
// set (nested blocks too), and a block only an override declares is added when it is a
// singleton such as host.
func TestFolderMergesOverridesAttributeByAttribute(t *testing.T) {
	fleet, diags := Load("testdata/override")
	if len(diags) > 0 {
		t.Fatalf("Load: %v", diags)
	}
	p := fleet.Pool("ruby")
	type view struct {
		Host, Redis, Namespace string
		VMs, Memory            int
		Queues                 []string
		Timeout, LogSilence    time.Duration
		Files                  []string
	}
	got := view{
		Host: fleet.Host.Name, Redis: fleet.Queue.Redis, Namespace: fleet.Queue.Namespace,
		VMs: p.VMs, Memory: p.Memory, Queues: p.Queues, Timeout: p.Job.Timeout, LogSilence: p.Job.LogSilence,
		Files: fleet.Files,
	}
	want := view{
		Host: "small-01", Redis: "redis://127.0.0.1:6379/0", Namespace: "resque",
		VMs: 3, Memory: 1536, Queues: []string{"builds.ruby", "builds"}, Timeout: 2 * time.Hour, LogSilence: 10 * time.Minute,
		Files: []string{
			"testdata/override/boxes.hcl", "testdata/override/fleet.hcl",
			"testdata/override/override.hcl", "testdata/override/z_override.hcl",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged fleet (-want +got):\n%s", diff)
	}
}

// TestMergedValuesPointAtTheFileThatSetThem checks the ranges kept for later diagnostics: the
// pool is declared in fleet.hcl, its box attribute too, whatever the overrides change.
func TestMergedValuesPointAtTheFileThatSetThem(t *testing.T) {
	fleet, diags := Load("testdata/override")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := fleet.Pool("ruby")
	got := []string{filepath.Base(p.DeclRange.Filename), filepath.Base(p.BoxRange.Filename)}
	if diff := cmp.Diff([]string{"fleet.hcl", "fleet.hcl"}, got); diff != "" {
		t.Errorf("range files (-want +got):\n%s", diff)
	}
}

// TestOverrideFilesByName checks which files count as overrides when listed explicitly, and that
// a single file passed to Load is always a base file, whatever its name.
func TestOverrideFilesByName(t *testing.T) {
	cases := []struct {
		name string
		load func() (*Fleet, error)
		vms  int
	}{
		{"LoadFiles merges override.hcl last", func() (*Fleet, error) {
			return result(LoadFiles("testdata/override/override.hcl", "testdata/override/fleet.hcl", "testdata/override/boxes.hcl"))
		}, 2},
		{"LoadFiles without overrides", func() (*Fleet, error) {
			return result(LoadFiles("testdata/override/fleet.hcl", "testdata/override/boxes.hcl"))
		}, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fleet, err := c.load()
			if err != nil {
				t.Fatal(err)
			}
			if got := fleet.Pool("ruby").VMs; got != c.vms {
				t.Errorf("vms = %d, want %d", got, c.vms)
			}
		})
	}
	// override.hcl alone names a pool whose box is nowhere: as a base file that is an unknown
	// box and a missing required box attribute, not a missing base block.
	_, diags := Load("testdata/override/override.hcl")
	for _, d := range diags {
		if d.Summary == "Missing base block" {
			t.Errorf("a single file was treated as an override: %v", d)
		}
	}
}

// result turns Load's diagnostics into an error when they hold one.
func result(f *Fleet, diags hcl.Diagnostics) (*Fleet, error) {
	if diags.HasErrors() {
		return nil, diags
	}
	return f, nil
}

func TestIsOverride(t *testing.T) {
	cases := map[string]bool{
		"override.hcl": true, "dir/override.hcl": true, "local_override.hcl": true,
		"fleet.hcl": false, "override.hcl.bak": false, "overrides.hcl": false, "my-override.hcl": false,
	}
	for name, want := range cases {
		if got := isOverride(name); got != want {
			t.Errorf("isOverride(%q) = %v, want %v", name, got, want)
		}
	}
}
