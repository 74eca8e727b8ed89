package guest

// This file holds the connection: Dial, the keepalive loop that declares a
// silent VM dead, and Close.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrConnectionLost is matched (errors.Is) when a command or upload ends
// because the connection died: the VM stopped answering keepalives, or its
// SSH server or network went away.
var ErrConnectionLost = errors.New("guest connection lost")

// ErrAuth is matched (errors.Is) when the server refused every key offered.
var ErrAuth = errors.New("ssh authentication refused")

// ErrKeepaliveTimeout is the cause recorded when keepalives went unanswered.
var ErrKeepaliveTimeout = errors.New("keepalive unanswered")

// Client is one SSH connection to one VM. Its methods may be called from
// several goroutines at once; each command runs in its own SSH session.
type Client struct {
	cfg     Config
	log     *slog.Logger
	conn    *ssh.Client
	raw     net.Conn
	hostKey ssh.PublicKey

	done      chan struct{} // closed once the connection has ended
	closing   chan struct{} // closed by Close to stop the keepalive loop
	closeOnce sync.Once
	wg        sync.WaitGroup // keepalive and wait goroutines
	sessions  sync.WaitGroup // goroutines of running commands (goTracked)

	mu    sync.Mutex
	cause error // why the connection ended; guarded by mu, set once

	// noSignal makes cancellation skip the signal request so tests can
	// prove the fallback that kills the process group by a second command.
	noSignal bool
}

// Dial connects to cfg.Addr, checks the host key, authenticates and starts
// keepalives. Connect, handshake and authentication together are bounded by
// cfg.DialTimeout and by ctx.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dial vm %s: %w", cfg.VM, err)
	}
	var seen ssh.PublicKey
	hostKeyCallback, algos, err := hostKeyPolicy(cfg, &seen)
	if err != nil {
		return nil, fmt.Errorf("dial vm %s: %w", cfg.VM, err)
	}
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("dial vm %s: %w", cfg.VM, err)
	}
	deadline, _ := dctx.Deadline()
	_ = raw.SetDeadline(deadline)
	// Cancelling ctx interrupts a handshake stuck on a silent server.
	stop := context.AfterFunc(dctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	sc, chans, reqs, err := ssh.NewClientConn(raw, cfg.Addr, &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(cfg.Signers...)},
		HostKeyCallback:   hostKeyCallback,
		HostKeyAlgorithms: algos,
	})
	interrupted := !stop()
	if err == nil && interrupted {
		_ = sc.Close()
		err = dctx.Err()
	}
	if err != nil {
		_ = raw.Close()
		if cerr := dctx.Err(); cerr != nil && !errors.Is(err, ErrHostKeyChanged) {
			return nil, fmt.Errorf("ssh handshake with vm %s: %w (%v)", cfg.VM, cerr, err)
		}
		return nil, fmt.Errorf("ssh handshake with vm %s: %w", cfg.VM, classifyHandshake(err))
	}
	_ = raw.SetDeadline(time.Time{})

	c := &Client{
		cfg:     cfg,
		log:     cfg.Log.With("vm", cfg.VM),
		conn:    ssh.NewClient(sc, chans, reqs),
		raw:     raw,
		hostKey: seen,
		done:    make(chan struct{}),
		closing: make(chan struct{}),
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		err := c.conn.Wait()
		c.fail(err)
		close(c.done)
	}()
	if cfg.KeepaliveInterval > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.keepalive()
		}()
	}
	c.log.Debug("guest connected", "addr", cfg.Addr, "host_key", ssh.FingerprintSHA256(seen), "took", time.Since(start))
	return c, nil
}

// classifyHandshake turns the handshake's untyped authentication failure
// into ErrAuth; x/crypto/ssh reports it only as text.
func classifyHandshake(err error) error {
	if errors.Is(err, ErrHostKeyChanged) {
		return err
	}
	if strings.Contains(err.Error(), "unable to authenticate") {
		return fmt.Errorf("%w: %v", ErrAuth, err)
	}
	return err
}

// HostKey returns the key the server presented; pin FormatHostKey(HostKey())
// after a trust-on-first-use connection.
func (c *Client) HostKey() ssh.PublicKey { return c.hostKey }

// Done is closed when the connection has ended, by Close or by failure.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is alive or after a
// plain Close.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cause == nil || errors.Is(c.cause, net.ErrClosed) {
		return nil
	}
	return c.cause
}

// Close closes the connection, ending every running command, and waits for
// the client's goroutines.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.fail(net.ErrClosed)
		close(c.closing)
		err = c.conn.Close()
	})
	c.wg.Wait()
	c.sessions.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// fail records the first reason the connection ended and closes it.
func (c *Client) fail(cause error) {
	c.mu.Lock()
	first := c.cause == nil
	if first {
		if cause == nil {
			cause = errors.New("connection closed by server")
		}
		c.cause = cause
	}
	c.mu.Unlock()
	if first && !errors.Is(cause, net.ErrClosed) {
		c.log.Warn("guest connection lost", "error", cause)
	}
	_ = c.raw.Close()
}

// lost wraps ErrConnectionLost with the recorded cause, or returns nil while
// the connection is alive.
func (c *Client) lost() error {
	select {
	case <-c.done:
	default:
		c.mu.Lock()
		cause := c.cause
		c.mu.Unlock()
		if cause == nil {
			return nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Errorf("%w: %v", ErrConnectionLost, c.cause)
}

// keepalive sends a keepalive@openssh.com request every interval. Any reply,
// even a refusal, proves the VM alive; a request unanswered for
// KeepaliveMax intervals closes the connection.
func (c *Client) keepalive() {
	interval := c.cfg.KeepaliveInterval
	limit := interval * time.Duration(c.cfg.KeepaliveMax)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-c.done:
			return
		case <-t.C:
		}
		timer := time.AfterFunc(limit, func() { c.fail(ErrKeepaliveTimeout) })
		_, _, err := c.conn.SendRequest("keepalive@openssh.com", true, nil)
		timer.Stop()
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// goTracked runs f in a goroutine that Close waits for, unless the
// connection has already ended.
func (c *Client) goTracked(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cause != nil {
		return false
	}
	c.sessions.Add(1)
	go func() {
		defer c.sessions.Done()
		f()
	}()
	return true
}
