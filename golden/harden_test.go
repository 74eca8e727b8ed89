package golden

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
)

// runHardening runs the hardening script on the guest root dir (FLEET_GUEST_ROOT, as the
// simulator does: no process is signalled or restarted) with passwd, usermod, sshd, systemctl
// and dropbear stubbed on PATH (they log their arguments to dir/calls), so no privileged host
// command runs.
func runHardening(t *testing.T, dir string) string {
	t.Helper()
	script, err := HardeningScript("vagrant")
	if err != nil {
		t.Fatal(err)
	}
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
	// PATH holds the stubs and links to an allow-list of plain file tools, nothing else: a
	// command the script gains later is "not found" here instead of running on this host as
	// root (passwd, pkill, service, kill of init...).
	for _, tool := range []string{"sh", "sed", "grep", "cat", "mkdir", "mv", "cp", "rm", "chmod", "chown", "ln", "ls", "test",
		"printf", "echo", "tr", "awk", "cut", "head", "tail", "sort", "dirname", "basename", "mktemp", "sleep", "true",
		"false", "id", "touch", "cmp", "wc", "stat", "readlink", "uname", "sync", "env", "expr", "diff"} {
		if p, err := exec.LookPath(tool); err == nil {
			if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(filepath.Join(bin, "sh"), "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+bin, "FLEET_GUEST_ROOT="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hardening script: %v: %s", err, out)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	return string(calls)
}

// writeGuestFile writes body to rel under the guest root dir, making its folder.
func writeGuestFile(t *testing.T, dir, rel, body string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
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
			config := tc.config
			writeGuestFile(t, dir, "etc/ssh/sshd_config", config)
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
			dropIn, err := os.ReadFile(filepath.Join(dir, sshdDropIn))
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
	writeGuestFile(t, dir, "etc/default/dropbear", "DROPBEAR_PORT=22\nDROPBEAR_EXTRA_ARGS=\"-w\"\n")
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
	if err := os.WriteFile(filepath.Join(dir, "etc/ssh/sshd_config"), []byte("Include /etc/ssh/sshd_config.d/*.conf\n"), 0o644); err != nil {
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

// TestGoldenHardeningScriptDropbearInittab: a dropbear respawned by busybox init (the QEMU
// test image) gets -s and -g on its inittab line and loses -B; other flags and lines stay, and
// a second run changes nothing.
func TestGoldenHardeningScriptDropbearInittab(t *testing.T) {
	const keys = " -r /etc/dropbear/dropbear_ed25519_host_key"
	cases := []struct{ name, line, want string }{
		{"password logins on", "::respawn:/usr/sbin/dropbear -F -E -p 22" + keys,
			"::respawn:/usr/sbin/dropbear -g -s -F -E -p 22" + keys},
		{"blank passwords allowed", "::respawn:/usr/sbin/dropbear -B -F -B -p 22",
			"::respawn:/usr/sbin/dropbear -g -s -F -p 22"},
		{"already -s", "::respawn:/usr/sbin/dropbear -F -s -p 22",
			"::respawn:/usr/sbin/dropbear -g -F -s -p 22"},
		{"already hardened", "::respawn:/usr/sbin/dropbear -g -s -F",
			"::respawn:/usr/sbin/dropbear -g -s -F"},
		{"no arguments", "ttyS0::respawn:/sbin/dropbear",
			"ttyS0::respawn:/sbin/dropbear -g -s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tab := filepath.Join(dir, "etc/inittab")
			writeGuestFile(t, dir, "etc/inittab", "::sysinit:/etc/rc\n"+tc.line+"\n# ::respawn:/usr/sbin/dropbear -B\n::shutdown:/bin/umount -a -r\n")
			runHardening(t, dir)
			first, _ := os.ReadFile(tab)
			runHardening(t, dir)
			second, _ := os.ReadFile(tab)
			want := "::sysinit:/etc/rc\n" + tc.want + "\n# ::respawn:/usr/sbin/dropbear -B\n::shutdown:/bin/umount -a -r\n"
			if string(first) != want {
				t.Errorf("inittab =\n%s\nwant\n%s", first, want)
			}
			if string(second) != string(first) {
				t.Errorf("second run changed inittab:\n%s", second)
			}
			if _, err := os.Stat(filepath.Join(dir, "etc/default/dropbear")); err == nil {
				t.Errorf("etc/default/dropbear written for a dropbear run from inittab")
			}
		})
	}
}

// TestGoldenHardeningKeepsRemoteForwarding: the hardening never turns off the TCP forwarding
// the agent's host_services tunnels use (dropbear -j/-k, OpenSSH AllowTcpForwarding or
// DisableForwarding), in any of the files it writes.
func TestGoldenHardeningKeepsRemoteForwarding(t *testing.T) {
	script, err := HardeningScript("vagrant")
	if err != nil {
		t.Fatal(err)
	}
	var code strings.Builder // the script without its comment lines
	for _, l := range strings.Split(script, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			code.WriteString(l + "\n")
		}
	}
	for _, bad := range []string{"AllowTcpForwarding", "DisableForwarding", " -j", " -k"} {
		if strings.Contains(code.String(), bad) {
			t.Errorf("hardening script contains %q", bad)
		}
	}
	dir := t.TempDir()
	for path, body := range map[string]string{
		"etc/inittab":          "::respawn:/usr/sbin/dropbear -F -p 22\n",
		"etc/default/dropbear": "DROPBEAR_EXTRA_ARGS=\"\"\n",
	} {
		writeGuestFile(t, dir, path, body)
	}
	runHardening(t, dir)
	tab, _ := os.ReadFile(filepath.Join(dir, "etc/inittab"))
	if strings.Contains(string(tab), " -j") || strings.Contains(string(tab), " -k") {
		t.Errorf("inittab %q turns forwarding off", tab)
	}
}

// lostRunner prints out and then fails as a session cut by an SSH server restart does.
type lostRunner struct {
	out string
	err error
}

func (r *lostRunner) Run(_ context.Context, _ string, stdout, _ io.Writer) error {
	io.WriteString(stdout, r.out)
	return r.err
}

// TestGoldenHardeningSurvivesSSHRestart: a session lost once the script said it restarts the
// SSH server is the restart's doing (Verify from the host decides); lost before that, or a
// plain failure after it, is a hardening failure.
func TestGoldenHardeningSurvivesSSHRestart(t *testing.T) {
	lost := fmt.Errorf("run on vm g: %w", &ssh.ExitMissingError{})
	cases := []struct {
		name    string
		out     string
		err     error
		wantErr bool
	}{
		{"lost after the restart began", restartMark + "\n", lost, false},
		{"connection lost after the restart began", restartMark + "\n", fmt.Errorf("x: %w", guest.ErrConnectionLost), false},
		{"lost before the restart", "", lost, true},
		{"failed after the restart began", restartMark + "\n", &ssh.ExitError{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Harden(context.Background(), &lostRunner{out: tc.out, err: tc.err}, "vagrant")
			if (err != nil) != tc.wantErr {
				t.Errorf("Harden = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
