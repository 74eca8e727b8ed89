package guest

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

func TestDialRefusesAChangedHostKey(t *testing.T) {
	s, cfg := startSSHD(t)
	other := newSigner(t).PublicKey()
	cfg.HostKey = FormatHostKey(other)
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("Dial with a different pinned key = %v, want ErrHostKeyChanged", err)
	}
	var hk *HostKeyError
	if !errors.As(err, &hk) {
		t.Fatalf("Dial error %v is not a *HostKeyError", err)
	}
	want := &HostKeyError{
		VM:   "test-vm",
		Addr: s.Addr,
		Want: ssh.FingerprintSHA256(other),
		Got:  ssh.FingerprintSHA256(s.HostKey),
	}
	if diff := cmp.Diff(want, hk); diff != "" {
		t.Errorf("host key error (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "test-vm") {
		t.Errorf("error %q does not name the VM", err)
	}
}

func TestTrustOnFirstUseThenPinned(t *testing.T) {
	s, cfg := startSSHD(t)
	cfg.HostKey = ""
	cfg.TrustOnFirstUse = true
	first := dial(t, cfg)
	pinned := FormatHostKey(first.HostKey())
	if want := FormatHostKey(s.HostKey); pinned != want {
		t.Fatalf("trusted key %q, want the server's %q", pinned, want)
	}
	cfg.TrustOnFirstUse = false
	cfg.HostKey = pinned
	second := dial(t, cfg)
	if err := second.Run(context.Background(), "true", nil, nil); err != nil {
		t.Errorf("run over pinned connection: %v", err)
	}
}

func TestDialConfigErrors(t *testing.T) {
	base := Config{Addr: "127.0.0.1:1", User: "u", Signers: []ssh.Signer{newSigner(t)}, TrustOnFirstUse: true}
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{name: "no host key policy", modify: func(c *Config) { c.TrustOnFirstUse = false }},
		{name: "no address", modify: func(c *Config) { c.Addr = "" }},
		{name: "no user", modify: func(c *Config) { c.User = "" }},
		{name: "no key", modify: func(c *Config) { c.Signers = nil }},
		{name: "unparsable pinned key", modify: func(c *Config) { c.HostKey = "ssh-ed25519 !!!" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.modify(&cfg)
			c, err := Dial(context.Background(), cfg)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded, want a configuration error")
			}
			if isConnRefused(err) {
				t.Errorf("Dial = %v: it connected before checking the configuration", err)
			}
		})
	}
}

func TestDialRefusesAnUnknownUserKey(t *testing.T) {
	_, cfg := startSSHD(t)
	cfg.Signers = []ssh.Signer{newSigner(t)}
	_, err := Dial(context.Background(), cfg)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Dial with an unlisted key = %v, want ErrAuth", err)
	}
}

func TestDialTriesEverySigner(t *testing.T) {
	s, cfg := startSSHD(t)
	cfg.Signers = []ssh.Signer{newSigner(t), s.ClientKey}
	c := dial(t, cfg)
	if err := c.Run(context.Background(), "true", nil, nil); err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestWaitForSSHGivesUpWithTheLastError(t *testing.T) {
	cfg := Config{
		VM: "booting", Addr: freeClosedPort(t), User: "u",
		Signers: []ssh.Signer{newSigner(t)}, TrustOnFirstUse: true,
	}
	_, err := WaitForSSH(context.Background(), cfg, 700*time.Millisecond)
	var we *WaitError
	if !errors.As(err, &we) {
		t.Fatalf("WaitForSSH = %v, want *WaitError", err)
	}
	if !errors.Is(err, ErrWaitTimeout) {
		t.Errorf("WaitForSSH = %v, want it to match ErrWaitTimeout", err)
	}
	if !isConnRefused(err) {
		t.Errorf("WaitForSSH = %v, want the last error (connection refused) kept", err)
	}
	if we.Attempts < 2 || we.VM != "booting" {
		t.Errorf("WaitError = %+v, want several attempts on vm booting", we)
	}
}

func TestWaitForSSHRetriesUntilTheServerAnswers(t *testing.T) {
	_, cfg := startSSHD(t)
	p := startRefusingProxy(t, cfg.Addr, 3)
	cfg.Addr = p.Addr()
	c, err := WaitForSSH(context.Background(), cfg, time.Minute)
	if err != nil {
		t.Fatalf("WaitForSSH: %v", err)
	}
	defer c.Close()
	if got := p.Accepted(); got != 4 {
		t.Errorf("proxy saw %d connections, want 3 refused + 1 served", got)
	}
	if err := c.Run(context.Background(), "true", nil, nil); err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestWaitForSSHStopsAtAChangedHostKey(t *testing.T) {
	_, cfg := startSSHD(t)
	cfg.HostKey = FormatHostKey(newSigner(t).PublicKey())
	_, err := WaitForSSH(context.Background(), cfg, time.Minute)
	if !errors.Is(err, ErrHostKeyChanged) {
		t.Fatalf("WaitForSSH = %v, want ErrHostKeyChanged at once", err)
	}
	if errors.Is(err, ErrWaitTimeout) {
		t.Errorf("WaitForSSH = %v: a changed host key was retried until the timeout", err)
	}
}

func TestWaitForSSHEndsWithItsContext(t *testing.T) {
	cfg := Config{
		Addr: freeClosedPort(t), User: "u",
		Signers: []ssh.Signer{newSigner(t)}, TrustOnFirstUse: true,
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := WaitForSSH(ctx, cfg, time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("WaitForSSH = %v, want context.Canceled", err)
	}
}

func TestKeepaliveNoticesADeadServer(t *testing.T) {
	tests := []struct {
		name      string
		sig       syscall.Signal
		wantCause error // nil: any cause
	}{
		// A frozen sshd keeps the TCP connection open and silent, like a
		// hung VM: only the keepalive can notice it.
		{name: "frozen sshd", sig: syscall.SIGSTOP, wantCause: ErrKeepaliveTimeout},
		{name: "killed sshd", sig: syscall.SIGKILL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, cfg := startSSHD(t)
			cfg.KeepaliveInterval = 100 * time.Millisecond
			cfg.KeepaliveMax = 3
			c := dial(t, cfg)
			out := newSignalWriter("started")
			done := make(chan error, 1)
			go func() { done <- c.Run(context.Background(), "echo started; sleep 30", out, nil) }()
			waitFor(t, out.seen, 30*time.Second, "command start")
			if err := s.Signal(tt.sig); err != nil {
				t.Fatalf("signal sshd: %v", err)
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("Run still running 60s after the server died")
			}
			if !errors.Is(err, ErrConnectionLost) {
				t.Errorf("Run = %v, want ErrConnectionLost", err)
			}
			waitFor(t, c.Done(), 10*time.Second, "Done after the connection died")
			if tt.wantCause != nil && !errors.Is(c.Err(), tt.wantCause) {
				t.Errorf("Err() = %v, want %v", c.Err(), tt.wantCause)
			}
			if err := c.Run(context.Background(), "true", nil, nil); !errors.Is(err, ErrConnectionLost) {
				t.Errorf("Run on a dead client = %v, want ErrConnectionLost", err)
			}
		})
	}
}

func TestCloseEndsRunningCommands(t *testing.T) {
	_, cfg := startSSHD(t)
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := newSignalWriter("started")
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background(), "echo started; sleep 30", out, nil) }()
	waitFor(t, out.seen, 30*time.Second, "command start")
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrConnectionLost) {
		t.Errorf("Run after Close = %v, want ErrConnectionLost", err)
	}
	if c.Err() != nil {
		t.Errorf("Err() after a plain Close = %v, want nil", c.Err())
	}
}
