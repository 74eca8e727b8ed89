package qemu

import (
	"bufio"
	"context"
	"encoding/pem"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/golden"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/internal/netnstest"
	"github.com/fleet-agent/fleet/qemu/imagebuild"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/spec"
)

// convergeTo applies e's fleet and returns the test's context (4 minutes) and the SSH
// endpoint of worker name.
func (e *env) convergeTo(t *testing.T, name string) (context.Context, sandbox.Endpoint) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	e.converge(t, ctx)
	ep, err := e.p.VM(name).Endpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, ep
}

// passwordUsers are the logins the test image ships with the password of a Vagrant base box.
var passwordUsers = []string{"root", imagebuild.VagrantUser}

// TestGoldenHardeningQEMUUnhardenedImageAcceptsPassword: the test image is a Vagrant-like box
// (root and vagrant with the password "vagrant", dropbear taking passwords), so a pool that
// opts out of the hardening (ssh.allow_password) gets workers that let the password in. This
// is what makes the refusal in TestGoldenHardeningQEMU mean something.
func TestGoldenHardeningQEMUUnhardenedImageAcceptsPassword(t *testing.T) {
	e := newEnvPool(t, 1, func(p *spec.Pool) { p.SSH.AllowPassword = true })
	if e.img.Password != golden.KnownPassword {
		t.Fatalf("test image password %q, want the box's well-known %q", e.img.Password, golden.KnownPassword)
	}
	if h := e.desired.Pools[0].Image.Hardening; h != "" {
		t.Fatalf("pool image hardening = %q with allow_password, want none", h)
	}
	ctx, ep := e.convergeTo(t, "q-1")
	for _, u := range passwordUsers {
		if err := golden.CheckPasswordRefused(ctx, ep.Addr, u, golden.KnownPassword); !errors.Is(err, golden.ErrPasswordAccepted) {
			t.Errorf("password login to unhardened q-1 as %s: %v, want accepted", u, err)
		}
		if err := golden.CheckPasswordRefused(ctx, ep.Addr, u, "not-the-password"); err != nil {
			t.Errorf("wrong password as %s: %v, want refused", u, err)
		}
	}
}

// TestGoldenHardeningQEMU: on a real VM, after the golden is built and hardened, a worker made
// from it (resumed from the golden's saved state, so the SSH server running at the snapshot)
// takes the agent's key and refuses password-only logins with the box's well-known password
// as root and vagrant (Go's SSH client, password and keyboard-interactive only) and Vagrant's
// insecure key; the hardened shadow entries are locked; and SSH remote port forwarding, which
// host_services tunnels use, still works. One golden and one worker boot.
func TestGoldenHardeningQEMU(t *testing.T) {
	e := newEnv(t, 1)
	if h := e.desired.Pools[0].Image.Hardening; h != reconcile.HardeningVersion {
		t.Fatalf("pool image hardening = %q, want %q", h, reconcile.HardeningVersion)
	}
	ctx, ep := e.convergeTo(t, "q-1")
	w, ok := e.workers(t, ctx)["q-1"]
	if !ok {
		t.Fatal("no worker q-1 after apply")
	}
	if err := golden.Verify(ctx, w.Name, ep.Addr, "root", e.p.key); err != nil {
		t.Errorf("worker q-1: %v", err)
	}
	for _, u := range passwordUsers {
		if err := golden.CheckPasswordRefused(ctx, ep.Addr, u, golden.KnownPassword); err != nil {
			t.Errorf("password login to q-1 as %s: %v, want refused", u, err)
		}
	}
	if c, err := guest.Dial(ctx, guest.Config{VM: w.Name, Addr: ep.Addr, User: "root",
		Signers: []ssh.Signer{guest.VagrantInsecureSigner()}, HostKey: ep.HostKey}); err == nil {
		c.Close()
		t.Errorf("Vagrant's insecure key logs in to q-1")
	}
	shadow := e.ssh(t, ctx, "q-1", "cat /etc/shadow")
	sc := bufio.NewScanner(strings.NewReader(shadow))
	locked := map[string]bool{}
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) == 3 {
			locked[f[0]] = strings.HasPrefix(f[1], "!")
		}
	}
	for _, u := range passwordUsers {
		if !locked[u] {
			t.Errorf("q-1's /etc/shadow does not lock %s:\n%s", u, shadow)
		}
	}
	checkRemoteForward(t, ctx, e, "q-1")
}

// checkRemoteForward asks name's SSH server (agent key) to forward its 127.0.0.1:port to this
// test and has the guest read from it: the hardening must leave remote forwarding on.
func checkRemoteForward(t *testing.T, ctx context.Context, e *env, name string) {
	t.Helper()
	ep, err := e.p.VM(name).Endpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(ep.HostKey))
	if err != nil {
		t.Fatalf("%s host key %q: %v", name, ep.HostKey, err)
	}
	c, err := ssh.Dial("tcp", ep.Addr, &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(e.p.key)},
		HostKeyCallback: ssh.FixedHostKey(hk), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const guestPort = "127.0.0.1:47011"
	ln, err := c.Listen("tcp", guestPort)
	if err != nil {
		t.Fatalf("remote forward %s on %s after hardening: %v", guestPort, name, err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			_, err = conn.Write([]byte("forwarded-ok\n"))
			conn.Close()
		}
		served <- err
	}()
	out := e.ssh(t, ctx, name, "busybox nc -w 5 127.0.0.1 47011 </dev/null")
	ln.Close()
	if err := <-served; err != nil {
		t.Errorf("remote forward on %s: accept: %v", name, err)
	}
	if !strings.Contains(out, "forwarded-ok") {
		t.Errorf("guest read %q through the remote forward, want forwarded-ok", out)
	}
}

// TestCrossVMLoginRefusedQEMU: a build on q-1 holds what its VM holds: the box's well-known
// password, Vagrant's insecure key and any private key on q-1's disk. None of them logs in to
// q-2 as root or vagrant. Whether q-1 can reach q-2's forwarded SSH port is network
// isolation's business (logged, not asserted), so the logins are tried from the host, which
// always reaches the port: the hardening is proven as a wall of its own. The same logins to an
// unhardened box are accepted (TestGoldenHardeningQEMUUnhardenedImageAcceptsPassword). It
// runs in network namespaces of its own (internal/netnstest): q-1's probe of 10.0.2.2 never
// leaves this machine.
func TestCrossVMLoginRefusedQEMU(t *testing.T) {
	if ns := netnstest.Run(t); ns == nil {
		return
	}
	e := newEnv(t, 2)
	ctx, ep := e.convergeTo(t, "q-2")
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
	for _, u := range passwordUsers {
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
