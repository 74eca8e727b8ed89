package qemu

import (
	"context"
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
