package chef

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/chef/chefsim"
)

// localGuest is a guest made of a folder: bin/ (the chef-solo stand-in and a sudo stand-in) first
// on PATH, home/vagrant as HOME and working folder, tmp/ as TMPDIR. Its Session runs commands
// with sh, each in its own process group, killed as a whole when ctx ends: the contract guest's
// SSH client keeps, without SSH.
type localGuest struct {
	root, home string
	env        []string
}

func newLocalGuest(t *testing.T) *localGuest {
	t.Helper()
	root := t.TempDir()
	g := &localGuest{root: root, home: filepath.Join(root, "home", "vagrant")}
	for _, d := range []string{"bin", "tmp", "home/vagrant"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	chefSolo, err := os.ReadFile(chefsim.Binary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "chef-solo"), chefSolo, 0o755); err != nil {
		t.Fatal(err)
	}
	sudo := "#!/bin/sh\n# sudo stand-in: drops flags, runs the rest\nwhile [ $# -gt 0 ]; do case \"$1\" in -*) shift;; *) break;; esac; done\nexec \"$@\"\n"
	if err := os.WriteFile(filepath.Join(root, "bin", "sudo"), []byte(sudo), 0o755); err != nil {
		t.Fatal(err)
	}
	g.env = []string{
		"PATH=" + filepath.Join(root, "bin") + ":/usr/local/bin:/usr/bin:/bin",
		"HOME=" + g.home,
		"TMPDIR=" + filepath.Join(root, "tmp"),
		"USER=vagrant",
	}
	return g
}

func (g *localGuest) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	c.Dir, c.Env, c.Stdout, c.Stderr = g.home, g.env, stdout, stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 10 * time.Second
	err := c.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("run: %w: %w", ctx.Err(), err)
	}
	return err
}

func (g *localGuest) Upload(ctx context.Context, path string, mode fs.FileMode, r io.Reader) error {
	if !filepath.IsAbs(path) {
		path = filepath.Join(g.home, path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
