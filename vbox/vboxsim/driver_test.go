package vboxsim_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

func newDriver(t *testing.T, sim *simtest.Sim) *vbox.Driver {
	t.Helper()
	return vbox.New(vbox.Config{
		Manage: sim.Bin, Env: sim.Env(), LockDir: t.TempDir(), RetryBase: 20_000_000, Retries: 8,
	}, slog.New(slog.DiscardHandler))
}

// booted imports a box with the test's key as "vm", forwards SSH and starts
// it through the driver. It returns the driver, the sim, the SSH port and
// the disk directory.
func booted(t *testing.T) (*vbox.Driver, *simtest.Sim, string, string, func(string) (string, string, int)) {
	d, sim, port, disk, run, _ := bootedWithKey(t)
	return d, sim, port, disk, run
}

func bootedWithKey(t *testing.T) (*vbox.Driver, *simtest.Sim, string, string, func(string) (string, string, int), ssh.Signer) {
	t.Helper()
	ctx := context.Background()
	sim := simtest.New(t)
	signer, pub := newKey(t)
	key, _ := os.ReadFile(pub)
	ovf := sim.MakeBox(t, vboxsim.BoxOptions{AuthorizedKeys: key})
	d := newDriver(t, sim)
	if _, err := d.Import(ctx, ovf, "vm", nil); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	p, _ := strconv.Atoi(port)
	if err := d.AddForward(ctx, "vm", vbox.Forward{NIC: 1, Name: "ssh", Proto: "tcp", HostIP: "127.0.0.1", HostPort: p, GuestPort: 22}); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, "vm"); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(sim.Home, "machines", "vm", "disk")
	run := func(cmd string) (string, string, int) {
		c, err := dial(port, "vagrant", signer)
		if err != nil {
			t.Fatalf("ssh: %v", err)
		}
		defer c.Close()
		return runSSH(t, c, cmd)
	}
	return d, sim, port, disk, run, signer
}

func TestDriverRestoreRemovesFilesWrittenAfterSnapshot(t *testing.T) {
	ctx := context.Background()
	d, _, _, disk, run := booted(t)
	bootID, _ := os.ReadFile(filepath.Join(disk, "etc", "boot_id"))
	if _, err := d.TakeSnapshot(ctx, "vm", "ready", true); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run("echo job > job.txt && echo tmp > /tmp/job.txt"); code != 0 {
		t.Fatalf("write files: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(disk, "home", "vagrant", "job.txt")); err != nil {
		t.Fatalf("file written in the guest is not on the disk: %v", err)
	}
	tmpInVM := true
	if _, err := os.Stat(filepath.Join(disk, "tmp", "job.txt")); err != nil {
		// No mount namespace on this machine: /tmp is the host's.
		tmpInVM = false
		os.Remove("/tmp/job.txt")
		t.Log("guest /tmp is not bound to the disk here (needs root); checking HOME only")
	}
	if err := d.PowerOff(ctx, "vm"); err != nil {
		t.Fatal(err)
	}
	if err := d.RestoreSnapshot(ctx, "vm", "ready"); err != nil {
		t.Fatal(err)
	}
	if st, err := d.State(ctx, "vm"); err != nil || st != "saved" {
		t.Fatalf("state after restoring a live snapshot = %q, %v; want saved", st, err)
	}
	if err := d.Start(ctx, "vm"); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := run("ls job.txt; echo end"); out != "end\n" {
		t.Errorf("after restore the guest still sees job.txt in HOME: %q", out)
	}
	if out, _, _ := run("cat /tmp/job.txt; echo end"); tmpInVM && out != "end\n" {
		t.Errorf("after restore the guest still sees /tmp/job.txt: %q", out)
	}
	if _, err := os.Stat(filepath.Join(disk, "tmp", "job.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tmp file survived the restore: %v", err)
	}
	if now, _ := os.ReadFile(filepath.Join(disk, "etc", "boot_id")); string(now) != string(bootID) {
		t.Errorf("resume from a live snapshot booted the guest (boot_id %q -> %q)", bootID, now)
	}
}

func TestGuestSSH(t *testing.T) {
	_, _, port, disk, run, signer := bootedWithKey(t)
	t.Run("exit status and streams", func(t *testing.T) {
		out, errOut, code := run("echo out; echo err >&2; exit 7")
		if out != "out\n" || errOut != "err\n" || code != 7 {
			t.Errorf("got %q %q %d, want out err 7", out, errOut, code)
		}
	})
	t.Run("home path and sudo stand-in", func(t *testing.T) {
		out, _, code := run(`pwd; echo "$HOME"; command -v sudo; sudo -n -E -H sh -c 'echo via-sudo'`)
		home := filepath.Join(disk, "home", "vagrant")
		want := home + "\n" + home + "\n" + filepath.Join(disk, "bin", "sudo") + "\nvia-sudo\n"
		if out != want || code != 0 {
			t.Errorf("got %q (exit %d), want %q", out, code, want)
		}
	})
	t.Run("stdin upload", func(t *testing.T) {
		c, err := dial(port, "vagrant", signer)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.Stdin = strings.NewReader("payload\n")
		if err := s.Run("cat > up.txt"); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(disk, "home", "vagrant", "up.txt")); string(b) != "payload\n" {
			t.Errorf("uploaded file = %q", b)
		}
	})
	t.Run("keepalive is answered", func(t *testing.T) {
		c, err := dial(port, "vagrant", signer)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if ok, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil || !ok {
			t.Errorf("keepalive = %v, %v", ok, err)
		}
	})
	t.Run("remote forwarding is accepted for a fixed port, refused for port 0", func(t *testing.T) {
		c, err := dial(port, "vagrant", signer)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ln, err := c.Listen("tcp", "127.0.0.1:3142")
		if err != nil {
			t.Fatalf("tcpip-forward 127.0.0.1:3142 refused: %v", err)
		}
		if err := ln.Close(); err != nil {
			t.Errorf("cancel-tcpip-forward: %v", err)
		}
		if ln, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
			ln.Close()
			t.Error("tcpip-forward of port 0 accepted: nothing would listen there")
		}
	})
	t.Run("unknown key is refused", func(t *testing.T) {
		other, _ := newKey(t)
		if c, err := dial(port, "vagrant", other); err == nil {
			c.Close()
			t.Fatal("a key not in authorized_keys was accepted")
		}
	})
	t.Run("signal kills the command", func(t *testing.T) {
		_, errOut, code := runWithSignal(t, port, signer)
		if code != -1 || !strings.Contains(errOut, "signal TERM") {
			t.Errorf("got exit %d %q, want exit-signal TERM", code, errOut)
		}
	})
}

func TestPoweroffKillsEverythingTheGuestStarted(t *testing.T) {
	d, _, _, _, run := booted(t)
	out, _, code := run("setsid sh -c 'sleep 300' >/dev/null 2>&1 & echo $!")
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil || code != 0 {
		t.Fatalf("start background job: %q exit %d", out, code)
	}
	if !pidAlive(pid) {
		t.Fatalf("background job %d is not running", pid)
	}
	if err := d.PowerOff(context.Background(), "vm"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "background job to die", func() bool { return !pidAlive(pid) })
}

func TestLinkedCloneBlocksParent(t *testing.T) {
	ctx := context.Background()
	sim := fixture(t, "golden")
	d := newDriver(t, sim)
	if _, err := d.TakeSnapshot(ctx, "golden", "golden", false); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Clone(ctx, "golden", vbox.CloneOptions{Name: "w1", Snapshot: "golden", Linked: true}, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSnapshot(ctx, "golden", "golden"); err == nil {
		t.Error("deleting a snapshot with a linked clone succeeded")
	}
	if err := d.Unregister(ctx, "golden"); err == nil {
		t.Error("unregistering the parent of a linked clone succeeded")
	}
	if err := d.Unregister(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSnapshot(ctx, "golden", "golden"); err != nil {
		t.Errorf("delete snapshot after its clone is gone: %v", err)
	}
	if err := d.Unregister(ctx, "golden"); err != nil {
		t.Errorf("unregister after its clone is gone: %v", err)
	}
}

// TestTwoProcessesRaceOnOneVM holds the VM in one simulator process while
// another mutates it: the second meets the session lock (ErrLocked), and two
// drivers racing both succeed through their retries.
func TestTwoProcessesRaceOnOneVM(t *testing.T) {
	sim := fixture(t, "vm")
	sim.SetProfile(t, "modifyvm = 400ms\n")
	first := exec.Command(sim.Bin, "modifyvm", "vm", "--memory", "1024")
	first.Env = append(os.Environ(), sim.Env()...)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Process.Kill(); first.Wait() })
	waitFor(t, "the first process to hold the session", func() bool {
		b, _ := os.ReadFile(filepath.Join(sim.Home, "state.json"))
		return strings.Contains(string(b), `"pid": `+strconv.Itoa(first.Process.Pid))
	})
	_, stderr, code := sim.Run(t, "modifyvm", "vm", "--cpus", "2")
	if err := vbox.Classify(nil, code, []byte(stderr)); !errors.Is(err, vbox.ErrLocked) {
		t.Errorf("second process: exit %d, %v; want ErrLocked", code, err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first process: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = newDriver(t, sim).Modify(context.Background(), "vm", vbox.ModifyOptions{CPUs: i + 1})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("driver %d: %v", i, err)
		}
	}
}

// runWithSignal starts a long command, waits until it runs, sends the SSH
// "signal" request and returns what the session reported.
func runWithSignal(t *testing.T, port string, signer ssh.Signer) (string, string, int) {
	t.Helper()
	c, err := dial(port, "vagrant", signer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("echo started; exec sleep 300"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if _, err := out.Read(buf); err != nil {
		t.Fatal(err)
	}
	if err := s.Signal(ssh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = s.Wait()
	var ee *ssh.ExitError
	if errors.As(err, &ee) && ee.Signal() != "" {
		return "", "signal " + ee.Signal(), -1
	}
	t.Fatalf("wait: %v", err)
	return "", "", 0
}
