package spec

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
)

const minimalBox = `
box "lucid32" {
  version = "2.1.0"
  url     = "https://boxes.example.org/lucid32.box"
  checksum = "SHA256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
}
`

// defaults returns the fleet every omitted attribute produces, with the given boxes and pools.
func defaults(files []string, boxes []*Box, pools []*Pool) *Fleet {
	return &Fleet{
		Host:       Host{Name: defaultHostName(), StateDir: "/var/lib/fleet"},
		VirtualBox: VirtualBox{Manage: "VBoxManage", MaxParallel: 2, SSHPortRange: [2]int{2200, 2999}, CallTimeout: 10 * time.Minute},
		QEMU:       QEMU{Binary: "qemu-system-x86_64", Accel: "auto"},
		Queue:      Queue{Redis: "redis://127.0.0.1:6379/0", Namespace: "resque", MaxAttempts: 3, HostLease: 30 * time.Second, Heartbeat: 10 * time.Second},
		Reconcile:  Reconcile{Resync: 30 * time.Second},
		Boxes:      boxes,
		Pools:      pools,
		Files:      files,
	}
}

func lucid32() *Box {
	return &Box{
		Name: "lucid32", Version: "2.1.0", URL: "https://boxes.example.org/lucid32.box",
		Checksum: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		SSH:      BoxSSH{User: "vagrant", Port: 22}, Format: "vagrant",
	}
}

func defaultPool(name string) *Pool {
	return &Pool{
		Name: name, Box: "lucid32", Provider: "virtualbox", VMs: 1, Memory: 1024, CPUs: 1,
		Queues: []string{name}, Rollback: "ready-snapshot",
		Job:     Job{Timeout: 50 * time.Minute, LogSilence: 10 * time.Minute, MaxLog: 4 << 20},
		Rollout: Rollout{MaxUnavailable: 1},
		Network: Network{Egress: EgressIsolated},
	}
}

// TestLoadValid checks the fleet built from valid sources: defaults for everything omitted,
// every set value decoded to its Go type, relative paths made absolute against the file's folder.
func TestLoadValid(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "fleet.hcl")
	cases := []struct {
		name string
		src  string
		want func() *Fleet
	}{{
		name: "minimal file takes every default",
		src:  minimalBox + `pool "ruby" { box = "lucid32" }`,
		want: func() *Fleet { return defaults([]string{name}, []*Box{lucid32()}, []*Pool{defaultPool("ruby")}) },
	}, {
		name: "every attribute set",
		src: `
host {
  name      = "build-01.example.org"
  state_dir = "state"
}
virtualbox {
  manage         = "bin/VBoxManage"
  max_parallel   = 4
  ssh_port_range = [3000, 3099]
  call_timeout   = "90s"
}
qemu {
  binary = "bin/qemu"
  accel  = "tcg"
}
queue {
  redis        = "rediss://queue.example.org:6380/2"
  namespace    = "ci"
  max_attempts = 5
  host_lease   = "4s"
  heartbeat    = "1s"
}
box "precise64" {
  version  = "1.0"
  url      = "file:boxes/precise64.box"
  checksum = "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"
  format   = "qemu"
  cmdline  = "console=ttyS0 root=/dev/vda"
  ssh {
    user        = "builder"
    private_key = "keys/id_ed25519"
    port        = 2222
  }
}
pool "ruby-1" {
  box      = "precise64"
  provider = "qemu"
  vms      = 0
  memory   = 262144
  cpus     = 64
  queues   = ["builds.ruby", "builds"]
  rollback = "per-job-snapshot"
  provision "chef_solo" {
    cookbooks      = ["cookbooks", "/srv/site-cookbooks"]
    recipes        = ["build-essential", "rvm::multi"]
    json           = { rvm = { rubies = ["1.9.2", "1.8.7"], gems = 3, install = true, extra = null } }
    timeout        = "1h30m"
    sudo_path      = "/usr/bin/sudo"
    chef_solo_path = "/opt/chef/bin/chef-solo"
  }
  job {
    timeout     = "2h"
    log_silence = "90s"
    max_log     = "1GiB"
  }
  rollout { max_unavailable = 3 }
  network {
    egress        = "none"
    host_services = ["127.0.0.1:3142"]
  }
}
`,
		want: func() *Fleet {
			return &Fleet{
				Host:       Host{Name: "build-01.example.org", StateDir: filepath.Join(dir, "state")},
				VirtualBox: VirtualBox{Manage: filepath.Join(dir, "bin/VBoxManage"), MaxParallel: 4, SSHPortRange: [2]int{3000, 3099}, CallTimeout: 90 * time.Second},
				QEMU:       QEMU{Binary: filepath.Join(dir, "bin/qemu"), Accel: "tcg"},
				Queue:      Queue{Redis: "rediss://queue.example.org:6380/2", Namespace: "ci", MaxAttempts: 5, HostLease: 4 * time.Second, Heartbeat: time.Second},
				Reconcile:  Reconcile{Resync: 30 * time.Second},
				Boxes: []*Box{{
					Name: "precise64", Version: "1.0", URL: "file://" + filepath.Join(dir, "boxes/precise64.box"),
					Checksum: "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
					SSH:      BoxSSH{User: "builder", PrivateKey: filepath.Join(dir, "keys/id_ed25519"), Port: 2222},
					Format:   "qemu", Cmdline: "console=ttyS0 root=/dev/vda",
				}},
				Pools: []*Pool{{
					Name: "ruby-1", Box: "precise64", Provider: "qemu", VMs: 0, Memory: 262144, CPUs: 64,
					Queues: []string{"builds.ruby", "builds"}, Rollback: "per-job-snapshot",
					Provision: &ChefSolo{
						Cookbooks: []string{filepath.Join(dir, "cookbooks"), "/srv/site-cookbooks"},
						Recipes:   []string{"build-essential", "rvm::multi"},
						Attributes: map[string]any{"rvm": map[string]any{
							"rubies": []any{"1.9.2", "1.8.7"}, "gems": 3.0, "install": true, "extra": nil,
						}},
						Timeout: 90 * time.Minute, SudoPath: "/usr/bin/sudo", ChefSoloPath: "/opt/chef/bin/chef-solo",
					},
					Job:     Job{Timeout: 2 * time.Hour, LogSilence: 90 * time.Second, MaxLog: 1 << 30},
					Network: Network{Egress: EgressNone, HostServices: []string{"127.0.0.1:3142"}},
					Rollout: Rollout{MaxUnavailable: 3},
				}},
				Files: []string{name},
			}
		},
	}, {
		name: "provision defaults",
		src:  minimalBox + `pool "ruby" {` + "\n" + `box = "lucid32"` + "\n" + `provision "chef_solo" { recipes = ["git"] }` + "\n}",
		want: func() *Fleet {
			p := defaultPool("ruby")
			p.Provision = &ChefSolo{
				Cookbooks: []string{filepath.Join(dir, "cookbooks")}, Recipes: []string{"git"},
				Attributes: map[string]any{}, Timeout: 30 * time.Minute, SudoPath: "sudo", ChefSoloPath: "chef-solo",
			}
			return defaults([]string{name}, []*Box{lucid32()}, []*Pool{p})
		},
	}, {
		name: "null means default",
		src:  minimalBox + `pool "ruby" {` + "\n" + `box = "lucid32"` + "\n" + `vms = null` + "\n}",
		want: func() *Fleet { return defaults([]string{name}, []*Box{lucid32()}, []*Pool{defaultPool("ruby")}) },
	}, {
		name: "pools and boxes keep declaration order",
		src:  minimalBox + `pool "zeta" { box = "lucid32" }` + "\n" + `pool "alpha" { box = "lucid32" }`,
		want: func() *Fleet {
			return defaults([]string{name}, []*Box{lucid32()}, []*Pool{defaultPool("zeta"), defaultPool("alpha")})
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fleet, diags := LoadBytes(name, []byte(c.src))
			if len(diags) > 0 {
				t.Fatalf("unexpected diagnostics: %v", diags)
			}
			if diff := cmp.Diff(c.want(), fleet, cmpopts.IgnoreTypes(hcl.Range{}, []hcl.Range{})); diff != "" {
				t.Errorf("fleet (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadKeepsRanges checks that the ranges later diagnostics point at are the right ones.
func TestLoadKeepsRanges(t *testing.T) {
	src := minimalBox + `
pool "ruby" {
  box = "lucid32"
  provision "chef_solo" {
    recipes = [
      "git",
      "rvm::multi",
    ]
  }
}
`
	fleet, diags := LoadBytes("fleet.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	p := fleet.Pool("ruby")
	lines := map[string]int{
		"box decl":   fleet.Box("lucid32").DeclRange.Start.Line,
		"pool decl":  p.DeclRange.Start.Line,
		"pool box":   p.BoxRange.Start.Line,
		"recipes":    p.Provision.RecipesRange.Start.Line,
		"recipe[0]":  p.Provision.RecipeRanges[0].Start.Line,
		"recipe[1]":  p.Provision.RecipeRanges[1].Start.Line,
		"recipe col": p.Provision.RecipeRanges[1].Start.Column,
	}
	want := map[string]int{
		"box decl": 2, "pool decl": 8, "pool box": 9, "recipes": 11,
		"recipe[0]": 12, "recipe[1]": 13, "recipe col": 7,
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("range lines (-want +got):\n%s", diff)
	}
}

// TestLoadShippedExamples checks that fleet.hcl.example and every example except the broken one
// load without a single diagnostic, and that the example has two pools of different sizes on
// one box with the Redis URL from env() or its default.
func TestLoadShippedExamples(t *testing.T) {
	t.Setenv("FLEET_REDIS", "")
	os.Unsetenv("FLEET_REDIS")
	files, _ := filepath.Glob("../examples/*.hcl")
	files = append(files, "../fleet.hcl.example")
	for _, f := range files {
		if filepath.Base(f) == "broken.hcl" {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			fleet, diags := Load(f)
			if len(diags) > 0 || fleet == nil {
				t.Fatalf("Load(%s): %v", f, diags)
			}
		})
	}
	fleet, _ := Load("../fleet.hcl.example")
	if fleet == nil {
		t.Fatal("fleet.hcl.example does not load")
	}
	if len(fleet.Pools) != 2 || fleet.Pools[0].Box != fleet.Pools[1].Box || fleet.Pools[0].VMs == fleet.Pools[1].VMs {
		t.Errorf("fleet.hcl.example: want two pools of different sizes on one box, got %+v and %+v", fleet.Pools[0], fleet.Pools[1])
	}
	if fleet.Queue.Redis != "redis://127.0.0.1:6379/0" {
		t.Errorf("fleet.hcl.example with FLEET_REDIS unset: redis = %q, want the default", fleet.Queue.Redis)
	}
}
