package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

// TestDoctorHostLoopbackByVirtualBoxVersion runs `agent doctor` against the simulator at
// VirtualBox versions before and after 7.0: before, a plain warning that builds reach the
// host's loopback through NAT and what to do (the host is still ready); from 7.0, an ok line.
func TestDoctorHostLoopbackByVirtualBoxVersion(t *testing.T) {
	sim := simtest.New(t)
	t.Setenv("VBOXSIM_HOME", sim.Home)
	srv := redistest.Start(t)
	dir := t.TempDir()
	writeFile(t, dir, "cookbooks/git/metadata.rb", "name \"git\"\nversion \"1.0.0\"\n")
	writeFile(t, dir, "cookbooks/git/recipes/default.rb", "log \"git\"\n")
	path := writeFile(t, dir, "fleet.hcl", fmt.Sprintf(`host { state_dir = %q }
virtualbox { manage = %q }
queue { redis = %q }
box "lucid32" {
  version = "1"
  url     = "file:lucid32.box"
}
pool "ruby" {
  box    = "lucid32"
  vms    = 1
  memory = 128
  provision "chef_solo" { recipes = ["git"] }
}
`, filepath.Join(dir, "state"), sim.Bin, srv.URL))
	tests := []struct {
		version string
		want    []string
		notWant string
	}{
		{"7.0.14r161095", []string{"ok    host loopback: closed to builds: on VirtualBox 7.0.14", "--nat-localhostreachableN off", "ready to join"}, "WARN  host loopback"},
		{"7.1.4r165100", []string{"ok    host loopback: closed to builds: on VirtualBox 7.1.4"}, "WARN  host loopback"},
		{"6.1.50r161033", []string{"WARN  host loopback: open to builds: VirtualBox 6.1.50 maps the NAT gateway 10.0.2.2 to this host's 127.0.0.1",
			"a local Redis or the job queue", "fix: upgrade to VirtualBox 7.0 or newer", "firewall them", `provider = "qemu"`, "ready to join"}, "ok    host loopback"},
		{"5.2.4r119785", []string{"WARN  host loopback: open to builds: VirtualBox 5.2.4"}, "ok    host loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			t.Setenv("VBOXSIM_VERSION", tt.version)
			code, stdout, stderr := runCLI(t, "doctor", "-c", path)
			if code != exitOK {
				t.Errorf("exit = %d, want %d (a warning does not stop the host)\n%s%s", code, exitOK, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("report lacks %q:\n%s", w, stdout)
				}
			}
			if strings.Contains(stdout, tt.notWant) {
				t.Errorf("report has %q:\n%s", tt.notWant, stdout)
			}
		})
	}
}
