package vboxprovider

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/golden"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
)

// workerAddrs returns the forwarded SSH address of every worker.
func (e *env) workerAddrs() map[string]string {
	e.t.Helper()
	inv, err := e.observe(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, v := range inv.VMs {
		if v.Role == reconcile.RoleWorker {
			out[v.Name] = net.JoinHostPort("127.0.0.1", strconv.Itoa(v.SSHPort))
		}
	}
	return out
}

// TestGoldenHardeningBeforeSnapshotSim: a box that takes the well-known password (like a
// Vagrant base box) becomes a golden whose snapshot holds locked passwords and an sshd drop-in
// that turns password logins off, so its workers refuse the password and take the agent key.
func TestGoldenHardeningBeforeSnapshotSim(t *testing.T) {
	e := newEnv(t)
	d := e.desired(fleetSpec{vms: 1})
	e.mustConverge(d)
	disk := filepath.Join(e.sim.Home, "machines", reconcile.GoldenName("ruby", d.Pools[0].Hash), "disk")
	shadow, err := os.ReadFile(filepath.Join(disk, "etc", "shadow"))
	if err != nil || !strings.Contains(string(shadow), "root:!vagrant") || !strings.Contains(string(shadow), "vagrant:!vagrant") {
		t.Errorf("golden etc/shadow = %q, %v; want root and vagrant locked", shadow, err)
	}
	dropIn, err := os.ReadFile(filepath.Join(disk, "etc", "ssh", "sshd_config.d", "00-fleet-harden.conf"))
	if err != nil || !strings.Contains(string(dropIn), "PasswordAuthentication no") {
		t.Errorf("golden sshd drop-in = %q, %v", dropIn, err)
	}
	for name, addr := range e.workerAddrs() {
		for _, u := range []string{"vagrant", "root"} {
			if err := golden.CheckPasswordRefused(context.Background(), addr, u, golden.KnownPassword); err != nil {
				t.Errorf("%s: password login as %s: %v, want refused", name, u, err)
			}
		}
		if err := golden.Verify(context.Background(), name, addr, "vagrant", e.prov.key); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestCrossVMLoginRefusedSim: what a build on one worker knows (the box's password, Vagrant's
// insecure key) does not log in to another worker's SSH port.
func TestCrossVMLoginRefusedSim(t *testing.T) {
	e := newEnv(t)
	e.mustConverge(e.desired(fleetSpec{vms: 2}))
	addrs := e.workerAddrs()
	if len(addrs) != 2 {
		t.Fatalf("workers = %v, want 2", addrs)
	}
	for name, addr := range addrs {
		if err := golden.CheckPasswordRefused(context.Background(), addr, "vagrant", golden.KnownPassword); err != nil {
			t.Errorf("password login to %s: %v, want refused", name, err)
		}
		_, err := guest.Dial(context.Background(), guest.Config{VM: name, Addr: addr, User: "vagrant",
			Signers: []ssh.Signer{guest.VagrantInsecureSigner()}, TrustOnFirstUse: true})
		if err == nil {
			t.Errorf("Vagrant's insecure key logs in to %s", name)
		}
	}
}

// TestGoldenHardeningFailureMeansGoldenUnusedSim: when hardening fails in the guest (its sshd
// rejects the configuration) or the check after it fails (an earlier drop-in keeps password
// logins on), the golden build fails saying so, no worker is made from the golden, and the
// plan says why it is destroyed and rebuilt.
func TestGoldenHardeningFailureMeansGoldenUnusedSim(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, disk string)
		want    string
	}{
		{"sshd rejects the configuration", func(t *testing.T, disk string) {
			writeExec(t, filepath.Join(disk, "bin", "sshd"), "#!/bin/sh\necho 'sshd: bad configuration' >&2\nexit 1\n")
		}, "bad configuration"},
		{"sshd_config edits silently do nothing", func(t *testing.T, disk string) {
			writeExec(t, filepath.Join(disk, "etc", "ssh", "sshd_config"), "PasswordAuthentication yes\nInclude /etc/ssh/sshd_config.d/*.conf\n")
			writeExec(t, filepath.Join(disk, "bin", "sed"), "#!/bin/sh\nexit 0\n")
		}, "password login accepted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvBox(t, func(disk string) { tc.prepare(t, disk) })
			d := e.desired(fleetSpec{vms: 1})
			_, err := e.converge(d)
			if err == nil {
				t.Fatalf("converge succeeded with a golden that failed its check")
			}
			if !strings.Contains(err.Error(), "not hardened") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("converge error %q does not say the golden is not hardened and %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "password "+golden.KnownPassword) {
				t.Errorf("error %q quotes the password", err)
			}
			if len(e.workerAddrs()) != 0 {
				t.Errorf("workers made from a golden that failed its check")
			}
			a := e.plan(d).Action("destroy_orphan/" + reconcile.GoldenName("ruby", d.Pools[0].Hash))
			if a == nil || !strings.Contains(a.Reason, "golden not used: golden image not hardened") || !strings.Contains(a.Reason, tc.want) {
				t.Errorf("plan action for the rejected golden = %+v, want its reason", a)
			}
		})
	}
}

func writeExec(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenHardeningFingerprintSim: a new hardening version is a new image: the plan builds a
// new golden and replaces the workers, saying the hardening changed.
func TestGoldenHardeningFingerprintSim(t *testing.T) {
	e := newEnv(t)
	d := e.desired(fleetSpec{vms: 2})
	e.mustConverge(d)
	p := &d.Pools[0]
	p.Image.Hardening = "harden-next"
	p.Hash = reconcile.ImageHash(p.Image)
	plan := e.plan(d)
	if got := kinds(plan); !slices.Equal(got, []string{"build_golden", "replace_worker", "replace_worker", "collect_golden"}) {
		t.Fatalf("plan kinds = %v", got)
	}
	want := "hardening " + reconcile.HardeningVersion + " -> harden-next"
	for _, a := range plan.Actions[:3] {
		if a.Reason != want {
			t.Errorf("%s reason = %q, want %q", a.ID, a.Reason, want)
		}
	}
}
