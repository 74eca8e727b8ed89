package golden

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runHardening runs the hardening script with /etc under dir and passwd, usermod, sshd,
// systemctl stubbed on PATH (they log their arguments to dir/calls), so no privileged host
// command runs.
func runHardening(t *testing.T, dir string) string {
	t.Helper()
	script, err := HardeningScript("vagrant")
	if err != nil {
		t.Fatal(err)
	}
	script = strings.ReplaceAll(script, "/etc/", dir+"/etc/")
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"passwd", "usermod", "sshd", "systemctl", "dropbear"} {
		stub := "#!/bin/sh\necho " + name + " \"$@\" >> " + dir + "/calls\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":/usr/bin:/bin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hardening script: %v: %s", err, out)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	return string(calls)
}

func TestGoldenHardeningScriptSSHDConfig(t *testing.T) {
	want := "PasswordAuthentication no\nKbdInteractiveAuthentication no\nChallengeResponseAuthentication no\nPermitRootLogin prohibit-password\n"
	cases := []struct {
		name       string
		config     string
		wantDropIn bool
	}{
		{"includes sshd_config.d: drop-in", "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\n", true},
		{"no include: edit in place", "Port 22\nPasswordAuthentication yes\n#PermitRootLogin yes\n  KbdInteractiveAuthentication yes\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "etc/ssh/sshd_config")
			if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
				t.Fatal(err)
			}
			config := strings.ReplaceAll(tc.config, "/etc/", dir+"/etc/")
			if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
				t.Fatal(err)
			}
			calls := runHardening(t, dir)
			first, _ := os.ReadFile(cfg)
			runHardening(t, dir) // idempotent: a second run changes nothing
			second, _ := os.ReadFile(cfg)
			if string(first) != string(second) {
				t.Errorf("second run changed sshd_config:\n%s\n---\n%s", first, second)
			}
			for _, c := range []string{"passwd -l vagrant", "passwd -l root", "sshd -t", "systemctl reload ssh"} {
				if !strings.Contains(calls, c) {
					t.Errorf("calls %q lack %q", calls, c)
				}
			}
			dropIn, err := os.ReadFile(strings.Replace(sshdDropIn, "/etc/", dir+"/etc/", 1))
			if tc.wantDropIn {
				if err != nil || string(dropIn) != want {
					t.Errorf("drop-in = %q, %v; want %q", dropIn, err, want)
				}
				if wantCfg := strings.SplitAfter(config, "\n")[0]; string(first) != wantCfg {
					t.Errorf("sshd_config = %q; want %q (Include kept, conflicting setting removed)", first, wantCfg)
				}
				return
			}
			if err == nil {
				t.Errorf("drop-in written though sshd_config does not include sshd_config.d")
			}
			if !strings.HasPrefix(string(first), "Port 22\n") || !strings.HasSuffix(string(first), want) || strings.Count(string(first), "PasswordAuthentication") != 1 || strings.Contains(string(first), "yes") {
				t.Errorf("sshd_config = %q; want Port kept, old settings removed, %q appended", first, want)
			}
		})
	}
}

func TestGoldenHardeningRejectsUnsafeUser(t *testing.T) {
	for _, u := range []string{"", "a b", "x;reboot", "it's"} {
		if _, err := HardeningScript(u); err == nil {
			t.Errorf("HardeningScript(%q) = nil error", u)
		}
	}
}

type failRunner struct {
	cmd string
	err error
}

func (r *failRunner) Run(_ context.Context, cmd string, _, stderr io.Writer) error {
	r.cmd = cmd
	if r.err != nil {
		io.WriteString(stderr, "sudo: a password is required\n")
	}
	return r.err
}

func TestGoldenHardeningRunsThroughSudoAndLocatesFailure(t *testing.T) {
	r := &failRunner{}
	if err := Harden(context.Background(), r, "vagrant"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.cmd, "sudo -n sh -c '") {
		t.Errorf("command %q does not run through sudo -n", r.cmd)
	}
	r.err = errors.New("exit status 1")
	err := Harden(context.Background(), r, "vagrant")
	if err == nil || !strings.Contains(err.Error(), "harden golden") || !strings.Contains(err.Error(), "password is required") {
		t.Errorf("error %v does not say hardening failed and why", err)
	}
}

func TestGoldenHardeningScriptDropbear(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "etc/default/dropbear")
	if err := os.MkdirAll(filepath.Dir(def), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(def, []byte("DROPBEAR_PORT=22\nDROPBEAR_EXTRA_ARGS=\"-w\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runHardening(t, dir)
	runHardening(t, dir)
	got, _ := os.ReadFile(def)
	if want := "DROPBEAR_PORT=22\nDROPBEAR_EXTRA_ARGS=\"-s -g\"\n"; string(got) != want {
		t.Errorf("/etc/default/dropbear = %q, want %q", got, want)
	}
}

// TestGoldenHardeningClearsEarlierDropIns: sshd keeps the first value it reads, so a drop-in
// sorting before the hardening's (00-cloud.conf) loses its password settings.
func TestGoldenHardeningClearsEarlierDropIns(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(dir, "etc/ssh/sshd_config.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/ssh/sshd_config"), []byte("Include "+d+"/*.conf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "00-cloud.conf"), []byte("PasswordAuthentication yes\nX11Forwarding no\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runHardening(t, dir)
	got, _ := os.ReadFile(filepath.Join(d, "00-cloud.conf"))
	if string(got) != "X11Forwarding no\n" {
		t.Errorf("00-cloud.conf = %q, want only its unrelated setting left", got)
	}
}
