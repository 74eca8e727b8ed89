package qemu

import (
	"context"
	"encoding/pem"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/golden"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
)

// TestGoldenHardeningQEMU: on a real VM, after the golden is built and hardened, a worker made
// from it takes the agent's key and refuses a password-only login with the box's well-known
// password (Go's SSH client, password and keyboard-interactive only) and Vagrant's insecure
// key. One golden and one worker boot.
func TestGoldenHardeningQEMU(t *testing.T) {
	e := newEnv(t, 1)
	if h := e.desired.Pools[0].Image.Hardening; h != reconcile.HardeningVersion {
		t.Fatalf("pool image hardening = %q, want %q", h, reconcile.HardeningVersion)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e.converge(t, ctx)
	w, ok := e.workers(t, ctx)["q-1"]
	if !ok {
		t.Fatal("no worker q-1 after apply")
	}
	ep, err := e.p.VM("q-1").Endpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := golden.Verify(ctx, w.Name, ep.Addr, "root", e.p.key); err != nil {
		t.Errorf("worker q-1: %v", err)
	}
	if err := golden.CheckPasswordRefused(ctx, ep.Addr, "root", golden.KnownPassword); err != nil {
		t.Errorf("password login to q-1: %v, want refused", err)
	}
	if c, err := guest.Dial(ctx, guest.Config{VM: w.Name, Addr: ep.Addr, User: "root",
		Signers: []ssh.Signer{guest.VagrantInsecureSigner()}, HostKey: ep.HostKey}); err == nil {
		c.Close()
		t.Errorf("Vagrant's insecure key logs in to q-1")
	}
}

// TestCrossVMLoginRefusedQEMU: a build on q-1 holds what its VM holds: the box's well-known
// password, Vagrant's insecure key and any private key on q-1's disk. None of them logs in to
// q-2, whether or not q-1 can reach q-2's forwarded SSH port (logged, not asserted: network
// isolation decides that).
func TestCrossVMLoginRefusedQEMU(t *testing.T) {
	e := newEnv(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e.converge(t, ctx)
	ep, err := e.p.VM("q-2").Endpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ep.Addr)
	reach := e.ssh(t, ctx, "q-1", "if echo | busybox nc -w 2 10.0.2.2 "+port+" 2>/dev/null | head -c 16 | grep -q SSH; then echo reachable; else echo unreachable; fi")
	t.Logf("q-1 -> q-2's SSH port 10.0.2.2:%s: %s", port, strings.TrimSpace(reach))
	signers := []ssh.Signer{guest.VagrantInsecureSigner()}
	keys := e.ssh(t, ctx, "q-1", "for f in $(find / -xdev -type f -size -16k 2>/dev/null | grep -v '^/proc'); do grep -l 'PRIVATE KEY-----' \"$f\" 2>/dev/null; done | while read f; do cat \"$f\"; echo; done")
	for rest := []byte(keys); ; {
		block, r := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = r
		if s, err := ssh.ParsePrivateKey(pem.EncodeToMemory(block)); err == nil {
			signers = append(signers, s)
		}
	}
	t.Logf("private keys found on q-1 and tried: %d (with Vagrant's insecure key)", len(signers))
	for _, u := range []string{"root", "vagrant"} {
		if err := golden.CheckPasswordRefused(ctx, ep.Addr, u, golden.KnownPassword); err != nil {
			t.Errorf("password login to q-2 as %s: %v, want refused", u, err)
		}
		for i, s := range signers {
			if c, err := guest.Dial(ctx, guest.Config{VM: "q-2", Addr: ep.Addr, User: u, Signers: []ssh.Signer{s}, HostKey: ep.HostKey}); err == nil {
				c.Close()
				t.Errorf("key %d from q-1 logs in to q-2 as %s", i, u)
			}
		}
	}
}
