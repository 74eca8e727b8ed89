package guest

// These tests run the communicator against the VirtualBox simulator's guest
// SSH endpoint, the way reconcile and sandbox will use it: a box that only
// knows the Vagrant insecure key, a forwarded port, trust on first use, then
// the agent's key.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
	"golang.org/x/crypto/ssh"
)

// simVM imports a box that trusts only the Vagrant insecure key, forwards a
// free port to its guest port 22 and starts it. It returns the SSH address
// and the VM's disk directory.
func simVM(t testing.TB) (addr, disk string) {
	t.Helper()
	sim := simtest.New(t)
	ovf := sim.MakeBox(t, vboxsim.BoxOptions{AuthorizedKeys: []byte(VagrantInsecurePublicKey + "\n")})
	addr = freeClosedPort(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	for _, args := range [][]string{
		{"import", ovf, "--vsys", "0", "--vmname", "vm"},
		{"modifyvm", "vm", "--natpf1", "ssh,tcp,127.0.0.1," + port + ",,22"},
		{"startvm", "vm", "--type", "headless"},
	} {
		if _, stderr, code := sim.Run(t, args...); code != 0 {
			t.Fatalf("vboxsim %v: exit %d: %s", args, code, stderr)
		}
	}
	return addr, filepath.Join(sim.Home, "machines", "vm", "disk")
}

func TestSimulatorGuest(t *testing.T) {
	addr, disk := simVM(t)
	home := filepath.Join(disk, "home", "vagrant")
	ctx := context.Background()
	boxCfg := Config{
		VM: "vm", Addr: addr, User: "vagrant",
		Signers:         []ssh.Signer{VagrantInsecureSigner()},
		TrustOnFirstUse: true,
		CancelGrace:     500 * time.Millisecond,
	}
	box, err := WaitForSSH(ctx, boxCfg, 2*time.Minute)
	if err != nil {
		t.Fatalf("wait for ssh: %v", err)
	}
	t.Cleanup(func() { _ = box.Close() })
	pinned := FormatHostKey(box.HostKey())

	t.Run("exit status", func(t *testing.T) {
		for cmd, want := range map[string]int{"true": 0, "exit 1": 1, "no-such-command-fleet-xyz": 127} {
			err := box.Run(ctx, cmd, nil, nil)
			var ee *ExitError
			switch {
			case want == 0 && err != nil:
				t.Errorf("Run(%q) = %v, want nil", cmd, err)
			case want != 0 && (!errors.As(err, &ee) || ee.Code != want):
				t.Errorf("Run(%q) = %v, want exit status %d", cmd, err, want)
			}
		}
	})

	t.Run("streams in order", func(t *testing.T) {
		var stdout, stderr strings.Builder
		cmd := "i=1; while [ $i -le 300 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done"
		if err := box.Run(ctx, cmd, &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		var wantOut, wantErr strings.Builder
		for i := 1; i <= 300; i++ {
			fmt.Fprintf(&wantOut, "o%d\n", i)
			fmt.Fprintf(&wantErr, "e%d\n", i)
		}
		if stdout.String() != wantOut.String() || stderr.String() != wantErr.String() {
			t.Errorf("streams out of order or incomplete: %d/%d stdout bytes, %d/%d stderr bytes",
				stdout.Len(), wantOut.Len(), stderr.Len(), wantErr.Len())
		}
	})

	t.Run("upload lands in the disk", func(t *testing.T) {
		data := bytes.Repeat([]byte("fleet"), 1<<18)
		if err := box.Upload(ctx, "work/data.bin", 0o640, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(home, "work", "data.bin"))
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(got) != sha256.Sum256(data) {
			t.Error("uploaded file differs from the data sent")
		}
	})

	for _, noSignal := range []bool{false, true} {
		t.Run(fmt.Sprintf("cancel kills the process group (noSignal=%v)", noSignal), func(t *testing.T) {
			box.noSignal = noSignal
			defer func() { box.noSignal = false }()
			cmd := "echo $$ > shell.pid; sleep 300 & echo $! > child.pid; echo started; wait"
			out := newSignalWriter("started")
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- box.Run(cctx, cmd, out, nil) }()
			waitFor(t, out.seen, 30*time.Second, "command start")
			pids := []int{readPID(t, filepath.Join(home, "shell.pid")), readPID(t, filepath.Join(home, "child.pid"))}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run after cancel = %v, want context.Canceled", err)
			}
			waitGone(t, pids, 30*time.Second)
			left, _ := filepath.Glob(filepath.Join(disk, "tmp", ".fleet-run-*"))
			if len(left) > 0 {
				t.Errorf("pid files left in the guest's tmp: %v", left)
			}
		})
	}

	t.Run("agent key replaces the insecure key", func(t *testing.T) {
		agent, err := LoadOrCreateKey(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := InstallAgentKey(ctx, box, agent.PublicKey()); err != nil {
			t.Fatalf("install agent key: %v", err)
		}
		agentCfg := Config{VM: "vm", Addr: addr, User: "vagrant", Signers: []ssh.Signer{agent}, HostKey: pinned}
		c, err := Dial(ctx, agentCfg)
		if err != nil {
			t.Fatalf("dial with the agent key and pinned host key: %v", err)
		}
		defer c.Close()
		if err := c.Run(ctx, "true", nil, nil); err != nil {
			t.Errorf("run with the agent key: %v", err)
		}
		boxCfg.HostKey, boxCfg.TrustOnFirstUse = pinned, false
		if _, err := Dial(ctx, boxCfg); !errors.Is(err, ErrAuth) {
			t.Errorf("dial with the insecure key after install = %v, want ErrAuth", err)
		}
		fi, err := os.Stat(filepath.Join(home, ".ssh", "authorized_keys"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("authorized_keys mode = %04o, want 0600", fi.Mode().Perm())
		}
	})
}
