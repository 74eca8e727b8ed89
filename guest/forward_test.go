package guest

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/internal/sshdtest"
	"golang.org/x/crypto/ssh"
)

// echoServer listens on 127.0.0.1 and answers every line with prefix and the line.
func echoServer(t *testing.T, prefix string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, err := bufio.NewReader(c).ReadString('\n')
				if err == nil {
					fmt.Fprintf(c, "%s %s", prefix, line)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// ask sends one line to addr and returns the answer.
func ask(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "ping\n")
	return bufio.NewReader(c).ReadString('\n')
}

// freeLoopbackPort is a port nobody listens on at 127.0.0.1 right now.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestForwardConnectsGuestListenerToExactlyOneHostService runs a real sshd (the "guest" is
// this machine's loopback): a forward makes the guest address answer as the host service, a
// second service beside it is not reached through it, and after Close the guest address no
// longer listens.
func TestForwardConnectsGuestListenerToExactlyOneHostService(t *testing.T) {
	s := sshdtest.StartRemoteForwarding(t)
	cfg := Config{VM: "test-vm", Addr: s.Addr, User: s.User, Signers: []ssh.Signer{s.ClientKey},
		HostKey: FormatHostKey(s.HostKey), DialTimeout: 10 * time.Second}
	c := dial(t, cfg)
	allowed := echoServer(t, "allowed")
	echoServer(t, "other")
	guestAddr := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))

	fw, err := c.Forward(guestAddr, allowed)
	if err != nil {
		t.Fatalf("Forward: %v", err)
	}
	for i := range 3 { // several connections, one after the other
		got, err := ask(guestAddr)
		if err != nil || got != "allowed ping\n" {
			t.Fatalf("connection %d through the forward: %q, %v; want %q", i, got, err, "allowed ping\n")
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// sshd stops listening when it handles the cancel request; wait on that condition.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := ask(guestAddr); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("guest address still forwards after Close")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestForwardAllRefusedBySSHServerIsAnError checks that a server that forbids forwarding
// fails ForwardAll (no job runs believing its services are there) and leaves nothing open.
func TestForwardAllRefusedBySSHServerIsAnError(t *testing.T) {
	_, cfg := startSSHD(t) // AllowTcpForwarding no
	c := dial(t, cfg)
	stop, err := c.ForwardAll([]string{echoServer(t, "allowed")})
	if err == nil {
		stop()
		t.Fatal("ForwardAll succeeded on a server without forwarding")
	}
}
