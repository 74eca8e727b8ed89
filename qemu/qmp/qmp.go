// Package qmp is a small client for the QEMU Machine Protocol over a unix socket: the greeting,
// capability negotiation, one command at a time with a deadline, and the human monitor
// commands (savevm, loadvm, delvm) that QMP exposes only through human-monitor-command.
// Asynchronous events are read and dropped. No shell-out to socat.
package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds one command when its context has no earlier deadline.
const DefaultTimeout = 30 * time.Second

// maxLine bounds one QMP message; replies here are small.
const maxLine = 1 << 20

// ErrClosed is returned by calls on a closed client or after the connection broke.
var ErrClosed = errors.New("qmp: connection closed")

// Error is an error reply from QEMU.
type Error struct {
	Command string
	Class   string `json:"class"`
	Desc    string `json:"desc"`
}

func (e *Error) Error() string { return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc) }

// HMPError is a human monitor command whose output reports a failure (HMP answers success
// with the error text as its output).
type HMPError struct {
	Command string
	Output  string
}

func (e *HMPError) Error() string { return fmt.Sprintf("hmp %s: %s", e.Command, e.Output) }

// Client is one QMP connection. Calls are serialised; it is safe for concurrent use.
type Client struct {
	mu   sync.Mutex // serialises commands; guards conn's reader
	conn net.Conn
	r    *bufio.Reader
}

// Message is any line QEMU sends: a greeting, a reply or an event.
type Message struct {
	QMP    json.RawMessage `json:"QMP"`
	Return json.RawMessage `json:"return"`
	Error  *Error          `json:"error"`
	Event  string          `json:"event"`
}

// Dial connects to the socket, reads the greeting and negotiates capabilities.
func Dial(ctx context.Context, socket string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("qmp dial %s: %w", socket, err)
	}
	c := NewClient(conn)
	if err := c.handshake(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("qmp dial %s: %w", socket, err)
	}
	return c, nil
}

// NewClient wraps an established connection; Dial calls it and then negotiates.
func NewClient(conn net.Conn) *Client {
	return &Client{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
}

func (c *Client) handshake(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stop := c.deadline(ctx)
	defer stop()
	m, err := c.read()
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	if m.QMP == nil {
		return errors.New("greeting: not a QMP greeting")
	}
	_, err = c.exchange("qmp_capabilities", nil)
	return err
}

// Execute runs command with args (nil for none) and returns the raw "return" value.
func (c *Client) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil, ErrClosed
	}
	stop := c.deadline(ctx)
	defer stop()
	ret, err := c.exchange(command, args)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", err, ctx.Err())
	}
	return ret, err
}

// HMP runs a human monitor command (e.g. "savevm ready") and returns its output. Output that
// starts with "Error" is returned as an *HMPError.
func (c *Client) HMP(ctx context.Context, line string) (string, error) {
	ret, err := c.Execute(ctx, "human-monitor-command", map[string]string{"command-line": line})
	if err != nil {
		return "", err
	}
	var out string
	if err := json.Unmarshal(ret, &out); err != nil {
		return "", fmt.Errorf("hmp %s: reply %s: %w", line, ret, err)
	}
	if IsHMPFailure(out) {
		return out, &HMPError{Command: line, Output: strings.TrimSpace(out)}
	}
	return out, nil
}

// IsHMPFailure reports whether human monitor output reports a failure.
func IsHMPFailure(out string) bool {
	s := strings.TrimSpace(out)
	return strings.HasPrefix(s, "Error") || strings.Contains(s, "\nError") || strings.HasPrefix(s, "Could not") ||
		strings.HasPrefix(s, "Snapshot ") && strings.Contains(s, "does not exist")
}

// Status returns the run state ("running", "paused", "inmigrate", ...).
func (c *Client) Status(ctx context.Context) (string, error) {
	ret, err := c.Execute(ctx, "query-status", nil)
	if err != nil {
		return "", err
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(ret, &st); err != nil {
		return "", fmt.Errorf("query-status: %w", err)
	}
	return st.Status, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

// deadline applies ctx's deadline (or DefaultTimeout) to the connection and closes it when
// ctx ends first, so a hung QEMU never blocks a caller past its context.
func (c *Client) deadline(ctx context.Context) (stop func()) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(DefaultTimeout)
	}
	c.conn.SetDeadline(dl)
	conn := c.conn
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-ctx.Done():
			conn.SetDeadline(time.Unix(1, 0))
		case <-done:
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// exchange sends one command and reads until its reply, skipping events. The caller holds mu.
func (c *Client) exchange(command string, args any) (json.RawMessage, error) {
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	if _, err := c.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	for {
		m, err := c.read()
		if err != nil {
			return nil, fmt.Errorf("qmp %s: %w", command, err)
		}
		switch {
		case m.Event != "":
			continue
		case m.Error != nil:
			m.Error.Command = command
			return nil, m.Error
		case m.Return != nil:
			return m.Return, nil
		}
	}
}

// read reads one message.
func (c *Client) read() (*Message, error) {
	line, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, errors.New("message too long")
	}
	if err != nil {
		return nil, err
	}
	return ParseMessage(line)
}

// ParseMessage decodes one QMP line.
func ParseMessage(line []byte) (*Message, error) {
	if len(line) > maxLine {
		return nil, errors.New("message too long")
	}
	var m Message
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, fmt.Errorf("bad message %.80q: %w", line, err)
	}
	if m.QMP == nil && m.Return == nil && m.Error == nil && m.Event == "" {
		return nil, fmt.Errorf("unknown message %.80q", line)
	}
	return &m, nil
}
