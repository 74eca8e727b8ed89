package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/internal/redistest"
)

// TestDoctorQEMUPool: for a fleet whose pools all use QEMU, doctor checks the emulator,
// qemu-img and the accelerator instead of VBoxManage.
func TestDoctorQEMUPool(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	render := func(binary, accel string) string {
		return fmt.Sprintf(`host { state_dir = %q }
virtualbox { manage = "/nonexistent/VBoxManage" }
qemu {
  binary = %q
  accel  = %q
}
queue { redis = %q }
box "tiny" {
  version = "1"
  url     = "file:tiny.box"
  format  = "qemu"
}
pool "q" {
  box      = "tiny"
  provider = "qemu"
  memory   = 128
}
`, filepath.Join(dir, "state"), binary, accel, srv.URL)
	}
	// noPasst is a PATH with the emulator and qemu-img but without passt.
	noPasst := t.TempDir()
	for _, b := range []string{"qemu-system-x86_64", "qemu-img"} {
		if p, err := exec.LookPath(b); err == nil {
			os.Symlink(p, filepath.Join(noPasst, b))
		}
	}
	cases := []struct {
		name, binary, accel string
		needQEMU            bool
		path                string // PATH for the run; "" keeps it
		wantCode            int
		want, absent        []string
	}{
		{"qemu missing", "/nonexistent/qemu-system-x86_64", "auto", false, "", exitError,
			[]string{"FAIL  qemu: \"/nonexistent/qemu-system-x86_64\" not found", "fix: install QEMU"}, []string{"VBoxManage"}},
		{"qemu under tcg", "qemu-system-x86_64", "tcg", true, "", exitOK,
			[]string{"ok    qemu: ", "ok    qemu-img: ", "ok    passt: ", "WARN  accelerator: TCG software emulation"}, []string{"VBoxManage"}},
		{"passt missing", "qemu-system-x86_64", "tcg", true, noPasst, exitError,
			[]string{"FAIL  passt: not found in PATH", "fix: apt-get install passt"}, []string{"VBoxManage"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath("qemu-system-x86_64"); c.needQEMU && err != nil {
				t.Skip("qemu-system-x86_64 not installed (scripts/qemu-deps.sh installs it)")
			}
			if _, err := exec.LookPath("passt"); c.needQEMU && c.path == "" && err != nil {
				t.Skip("passt not installed (scripts/qemu-deps.sh installs it)")
			}
			if c.path != "" {
				t.Setenv("PATH", c.path)
			}
			path := writeFile(t, dir, strings.ReplaceAll(c.name, " ", "-")+".hcl", render(c.binary, c.accel))
			code, stdout, stderr := runCLI(t, "doctor", "-c", path)
			if code != c.wantCode {
				t.Errorf("exit = %d, want %d\n%s%s", code, c.wantCode, stdout, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("report lacks %q:\n%s", w, stdout)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(stdout, a) {
					t.Errorf("report mentions %q for a QEMU-only fleet:\n%s", a, stdout)
				}
			}
		})
	}
}
