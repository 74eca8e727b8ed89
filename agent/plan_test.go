package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/internal/ports/portstest"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/reconcile/boxcache"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

// simHost is a simulated build host for the plan and apply commands: a simulator whose
// VBOXSIM_HOME is in the environment, a box file and a fleet.hcl pointing at both.
type simHost struct {
	sim      *simtest.Sim
	dir      string
	stateDir string
	manage   string // the VBoxManage the fleet names (the simulator, or a wrapper of it)
	ports    [2]int
}

func newSimHost(t *testing.T) *simHost {
	t.Helper()
	sim := simtest.New(t)
	for _, kv := range sim.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	h := &simHost{sim: sim, dir: t.TempDir(), stateDir: t.TempDir(), manage: sim.Bin}
	h.ports = portstest.Range(t)
	ovf := sim.MakeBox(t, vboxsim.BoxOptions{AuthorizedKeys: []byte(guest.VagrantInsecurePublicKey + "\n")})
	f, err := os.Create(filepath.Join(h.dir, "lucid32.box"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := boxcache.Pack(f, filepath.Dir(ovf)); err != nil {
		t.Fatal(err)
	}
	return h
}

// writeFleet writes fleet.hcl with vms workers and returns its path.
func (h *simHost) writeFleet(t *testing.T, vms, maxParallel int) string {
	t.Helper()
	src := fmt.Sprintf(`host {
  name      = "build-01"
  state_dir = %q
}
virtualbox {
  manage         = %q
  max_parallel   = %d
  ssh_port_range = [%d, %d]
}
box "lucid32" {
  version = "2.0.0"
  url     = "file://%s/lucid32.box"
}
pool "ruby" {
  box    = "lucid32"
  vms    = %d
  memory = 256
}
`, h.stateDir, h.manage, maxParallel, h.ports[0], h.ports[1], h.dir, vms)
	return writeFile(t, h.dir, "fleet.hcl", src)
}

func TestPlanInvalidFleetPlansNothing(t *testing.T) {
	path := writeFile(t, t.TempDir(), "fleet.hcl", "pool \"ruby\" {\n  box = \"nope\"\n")
	for _, args := range [][]string{{"plan"}, {"apply", "--auto-approve"}} { // plan --json: TestPlanJSONDiagnostics
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append(args, "-c", path)...)
			if code != exitError || stdout != "" || !strings.Contains(stderr, "nothing planned") || !strings.Contains(stderr, path) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, no plan, the diagnostics", code, stdout, stderr)
			}
		})
	}
}

// TestPlanEmptyHost checks text, JSON and --detailed-exitcode on a host with nothing yet.
func TestPlanEmptyHost(t *testing.T) {
	h := newSimHost(t)
	path := h.writeFleet(t, 2, 2)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		check    func(t *testing.T, stdout string)
	}{
		{"text", []string{"plan"}, exitOK, func(t *testing.T, out string) {
			for _, want := range []string{"  + fetch box", "  + import box    fleet-box-lucid32-2.0.0", "  + create worker ruby-2",
				"Plan: 5 to add, 0 to change, 0 to replace, 0 to destroy."} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "\x1b[") {
				t.Errorf("colour written to a non-terminal:\n%s", out)
			}
		}},
		{"detailed exit code", []string{"plan", "--detailed-exitcode"}, exitChanges, nil},
		{"json", []string{"plan", "--json"}, exitOK, func(t *testing.T, out string) {
			var p reconcile.Plan
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatalf("plan JSON: %v\n%s", err, out)
			}
			if len(p.Actions) != 5 || p.Owner != "build-01" {
				t.Errorf("plan JSON has %d actions for %q, want 5 for build-01", len(p.Actions), p.Owner)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append(tt.args, "-c", path)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if tt.check != nil {
				tt.check(t, stdout)
			}
		})
	}
}
