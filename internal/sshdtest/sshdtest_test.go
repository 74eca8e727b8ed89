package sshdtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func dial(t *testing.T, s *Server, key ssh.Signer) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{
		User:            s.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey),
		Timeout:         10 * time.Second,
	})
}

func TestServerRunsCommandsForTheClientKey(t *testing.T) {
	s := Start(t)
	c, err := dial(t, s, s.ClientKey)
	if err != nil {
		t.Fatalf("dial: %v\nsshd log:\n%s", err, s.Log())
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	defer sess.Close()
	out, err := sess.Output("echo hello")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := string(bytes.TrimSpace(out)); got != "hello" {
		t.Errorf("output = %q, want hello", got)
	}
}

func TestAuthorizeAddsAWorkingKey(t *testing.T) {
	s := Start(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, s, other); err == nil {
		t.Fatal("dial with an unlisted key succeeded, want refused")
	}
	s.Authorize(t, other.PublicKey())
	c, err := dial(t, s, other)
	if err != nil {
		t.Fatalf("dial after Authorize: %v", err)
	}
	c.Close()
}

func TestSignalReachesPerConnectionProcesses(t *testing.T) {
	s := Start(t)
	c, err := dial(t, s, s.ClientKey)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if n := len(s.Processes()); n < 2 {
		t.Fatalf("Processes() = %d pids with a live connection, want the listener and its children", n)
	}
	if err := s.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("signal: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("connection still open 30s after every sshd process was killed")
	}
}
