package guest

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"golang.org/x/crypto/ssh"
)

// Defaults for the zero values of Config's durations.
const (
	DefaultDialTimeout       = 10 * time.Second
	DefaultKeepaliveInterval = 2 * time.Second
	DefaultKeepaliveMax      = 3
	DefaultCancelGrace       = 2 * time.Second
)

// Config says how to reach and trust one VM's SSH server.
type Config struct {
	// VM names the VM in errors and logs (e.g. "ruby-3").
	VM string
	// Addr is the host:port of the VM's forwarded SSH port, normally
	// 127.0.0.1:<port>.
	Addr string
	// User is the guest user to log in as (the build user, e.g. "vagrant").
	User string
	// Signers are the private keys offered, in order: typically the agent's
	// key, then the box's key until the golden image has the agent's key.
	Signers []ssh.Signer

	// HostKey is the pinned host key in authorized_keys form (FormatHostKey).
	// When set, any other key is refused with a *HostKeyError.
	HostKey string
	// TrustOnFirstUse accepts whatever key the server presents when HostKey
	// is empty; the caller reads it with Client.HostKey and pins it. It is
	// meant for the one moment a fresh VM becomes ready.
	TrustOnFirstUse bool
	// HostKeyCallback overrides HostKey and TrustOnFirstUse entirely. Only
	// tests should set it (for example to ssh.InsecureIgnoreHostKey()).
	HostKeyCallback ssh.HostKeyCallback

	// DialTimeout bounds the TCP connect plus the SSH handshake and
	// authentication. Default DefaultDialTimeout.
	DialTimeout time.Duration
	// KeepaliveInterval is the time between keepalive requests. Default
	// DefaultKeepaliveInterval; negative disables keepalives.
	KeepaliveInterval time.Duration
	// KeepaliveMax is how many intervals a keepalive may go unanswered
	// before the connection is declared dead and closed. Default
	// DefaultKeepaliveMax.
	KeepaliveMax int
	// CancelGrace is how long a cancelled command may take to die after the
	// signal request before a second command kills its process group.
	// Default DefaultCancelGrace.
	CancelGrace time.Duration

	// Log receives connection events; nil discards them. Keys and command
	// text are never logged.
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.KeepaliveInterval == 0 {
		c.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if c.KeepaliveMax <= 0 {
		c.KeepaliveMax = DefaultKeepaliveMax
	}
	if c.CancelGrace <= 0 {
		c.CancelGrace = DefaultCancelGrace
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.VM == "" {
		c.VM = c.Addr
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("no address")
	case c.User == "":
		return errors.New("no user")
	case len(c.Signers) == 0:
		return errors.New("no private key")
	case c.HostKeyCallback == nil && c.HostKey == "" && !c.TrustOnFirstUse:
		return errors.New("no host key policy: set HostKey or TrustOnFirstUse")
	}
	return nil
}
