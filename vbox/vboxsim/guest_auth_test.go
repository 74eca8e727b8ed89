package vboxsim

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

type connMeta struct{ user string }

func (c connMeta) User() string        { return c.user }
func (connMeta) SessionID() []byte     { return nil }
func (connMeta) ClientVersion() []byte { return nil }
func (connMeta) ServerVersion() []byte { return nil }
func (connMeta) RemoteAddr() net.Addr  { return nil }
func (connMeta) LocalAddr() net.Addr   { return nil }

// TestGoldenHardeningSimulatedLoginState: a box made with a password takes it for the user and
// root until passwd -l (the stand-in) locks the user or an sshd drop-in read first turns
// password logins off; a box without one never takes a password.
func TestGoldenHardeningSimulatedLoginState(t *testing.T) {
	disk := t.TempDir()
	if err := os.MkdirAll(filepath.Join(disk, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	g := &guest{spec: guestSpec{Disk: disk}}
	ok := func(user, pw string) bool {
		_, err := g.checkPassword(connMeta{user}, []byte(pw))
		return err == nil
	}
	if ok("vagrant", "vagrant") {
		t.Fatal("a box without login state takes a password")
	}
	if err := writeLoginState(disk, "vagrant", "vagrant"); err != nil {
		t.Fatal(err)
	}
	if err := ensureStandIns(disk); err != nil {
		t.Fatal(err)
	}
	if !ok("vagrant", "vagrant") || !ok("root", "vagrant") || ok("vagrant", "wrong") {
		t.Fatal("Vagrant box login state: want vagrant/vagrant and root/vagrant only")
	}
	if out, err := exec.Command(filepath.Join(disk, "bin", "passwd"), "-l", "vagrant").CombinedOutput(); err != nil {
		t.Fatalf("passwd -l: %v: %s", err, out)
	}
	if ok("vagrant", "vagrant") || !ok("root", "vagrant") {
		t.Error("after passwd -l vagrant: want vagrant locked, root not")
	}
	dropIn := filepath.Join(disk, "etc", "ssh", "sshd_config.d", "00-x.conf")
	if err := os.WriteFile(dropIn, []byte("PermitRootLogin prohibit-password\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok("root", "vagrant") {
		t.Error("PermitRootLogin prohibit-password in a drop-in does not stop root's password")
	}
	os.WriteFile(dropIn, []byte("PasswordAuthentication no\n"), 0o644)
	os.WriteFile(filepath.Join(disk, "etc", "shadow"), []byte("root:vagrant\nvagrant:vagrant\n"), 0o600)
	if ok("vagrant", "vagrant") {
		t.Error("PasswordAuthentication no in a drop-in read before sshd_config's yes does not win")
	}
}
