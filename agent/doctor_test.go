package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

// TestDoctor runs `agent doctor` against hosts with one thing wrong each and checks the report
// names the problem and the fix, and the exit code says whether the host is ready.
func TestDoctor(t *testing.T) {
	sim := simtest.New(t)
	t.Setenv("VBOXSIM_HOME", sim.Home)
	srv := redistest.Start(t)
	dir := t.TempDir()
	writeFile(t, dir, "cookbooks/git/metadata.rb", "name \"git\"\nversion \"1.0.0\"\n")
	writeFile(t, dir, "cookbooks/git/recipes/default.rb", "log \"git\"\n")
	goodKey := filepath.Join(dir, "key")
	os.WriteFile(goodKey, []byte(vagrantKeyPEM()), 0o600)
	openKey := filepath.Join(dir, "openkey")
	os.WriteFile(openKey, []byte(vagrantKeyPEM()), 0o644)

	type cfg struct {
		manage, stateDir, redis, key, recipe string
		memory, vms                          int
		// vboxVersion is the VirtualBox version the simulator plays, "" for its default (7.0).
		vboxVersion string
	}
	good := cfg{manage: sim.Bin, stateDir: filepath.Join(dir, "state"), redis: srv.URL, key: goodKey, recipe: "git", memory: 128, vms: 1}
	render := func(c cfg) string {
		return fmt.Sprintf(`host { state_dir = %q }
virtualbox { manage = %q }
queue { redis = %q }
box "lucid32" {
  version = "1"
  url     = "file:lucid32.box"
  ssh { private_key = %q }
}
pool "ruby" {
  box    = "lucid32"
  vms    = %d
  memory = %d
  provision "chef_solo" { recipes = [%q] }
}
`, c.stateDir, c.manage, c.redis, c.key, c.vms, c.memory, c.recipe)
	}
	cases := []struct {
		name     string
		edit     func(c *cfg)
		wantCode int
		want     []string
	}{
		{"ready host", func(c *cfg) {}, exitOK, []string{"ok    VBoxManage: " + sim.Bin, "ok    redis:", "ok    state_dir:", "ok    memory:", "ok    disk:", "ready to join",
			"ok    host loopback: closed to builds: on VirtualBox 7.0.14 the agent sets --nat-localhostreachableN off on every NAT adapter"}},
		{"VirtualBox 7.1 keeps host loopback closed", func(c *cfg) { c.vboxVersion = "7.1.4r165100" }, exitOK,
			[]string{"ok    host loopback: closed to builds: on VirtualBox 7.1.4"}},
		{"VirtualBox 6.1 warns builds reach host loopback and says what to do", func(c *cfg) { c.vboxVersion = "6.1.50r161033" }, exitOK,
			[]string{"WARN  host loopback: open to builds: VirtualBox 6.1.50 maps the NAT gateway 10.0.2.2 to this host's 127.0.0.1",
				"a local Redis or the job queue", "fix: upgrade to VirtualBox 7.0 or newer", "firewall them", `provider = "qemu"`, "ready to join"}},
		{"VirtualBox 5.2 warns the same", func(c *cfg) { c.vboxVersion = "5.2.4r119785" }, exitOK,
			[]string{"WARN  host loopback: open to builds: VirtualBox 5.2.4"}},
		{"VBoxManage missing", func(c *cfg) { c.manage = "/nonexistent/VBoxManage" }, exitError,
			[]string{"FAIL  VBoxManage: \"/nonexistent/VBoxManage\" not found", "fix: install VirtualBox"}},
		{"redis unreachable", func(c *cfg) { c.redis = "redis://127.0.0.1:1/0" }, exitError,
			[]string{"FAIL  redis: redis://127.0.0.1:1/0", "fix: start Redis there"}},
		{"state_dir not writable", func(c *cfg) { c.stateDir = "/proc/fleet-state" }, exitError,
			[]string{"FAIL  state_dir: /proc/fleet-state is not writable"}},
		{"too much memory asked", func(c *cfg) { c.memory, c.vms = 262144, 200 }, exitError,
			[]string{"FAIL  memory:", "fix: lower vms or memory"}},
		{"ssh key readable by others", func(c *cfg) { c.key = openKey }, exitError,
			[]string{"is readable by others", "fix: chmod 600 " + openKey}},
		{"recipe not found", func(c *cfg) { c.recipe = "gti" }, exitError,
			[]string{"FAIL  fleet.hcl:", "Cookbook not found"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf := good
			c.edit(&conf)
			t.Setenv("VBOXSIM_VERSION", conf.vboxVersion)
			path := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "-")+".hcl", render(conf))
			code, stdout, stderr := runCLI(t, "doctor", "-c", path)
			if code != c.wantCode {
				t.Errorf("exit = %d, want %d\n%s%s", code, c.wantCode, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("report lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

// vagrantKeyPEM is a valid private key for the key checks.
func vagrantKeyPEM() string { return guest.VagrantInsecurePrivateKey }
