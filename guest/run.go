package guest

// This file runs commands: streaming output, exit status, and cancellation
// that kills the remote process group rather than just closing the channel.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// ExitError reports a command that ended unsuccessfully.
type ExitError struct {
	// Code is the exit status, or -1 when the command was killed by a signal.
	Code int
	// Signal is the signal name without "SIG" ("KILL", "TERM") when the
	// command was killed by one, else "".
	Signal string
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return "killed by signal " + e.Signal
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExitCode returns the exit status, or -1 when the command was killed by a signal. Packages that
// declare their own session interface (chef, sandbox) read it through an `ExitCode() int` method
// without importing guest.
func (e *ExitError) ExitCode() int { return e.Code }

// Run runs cmd through the guest user's login shell, streaming its stdout
// and stderr to the writers as the bytes arrive (nil discards). Writes are
// serialized, so one writer may serve both streams; order is kept within
// each stream. A non-zero exit is an *ExitError; a dead connection matches
// ErrConnectionLost. When ctx ends, the remote process group is killed and
// Run returns an error matching ctx.Err(). The command text is never logged
// nor put into errors, since scripts may hold secrets.
func (c *Client) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	if err := c.run(ctx, cmd, nil, stdout, stderr); err != nil {
		return fmt.Errorf("run on vm %s: %w", c.cfg.VM, err)
	}
	return nil
}

// feeder writes a command's stdin; it returns once all input is written and
// the pipe closed, or with the first error (see copyInput).
type feeder func(stdin io.WriteCloser) error

// run starts cmd in a new session, feeds stdin when feed is set, and waits.
func (c *Client) run(ctx context.Context, cmd string, feed feeder, stdout, stderr io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.lost(); err != nil {
		return err
	}
	sess, err := c.conn.NewSession()
	if err != nil {
		if lost := c.lost(); lost != nil {
			return lost
		}
		return fmt.Errorf("open session: %w", err)
	}
	defer sess.Close()

	// Both streams share one lock so a single writer can serve both, and
	// so no write reaches the caller's writers after Run has returned.
	out := &streams{}
	sess.Stdout = &streamWriter{s: out, w: orDiscard(stdout)}
	sess.Stderr = &streamWriter{s: out, w: orDiscard(stderr)}
	defer out.detach()
	var stdin io.WriteCloser
	if feed != nil {
		if stdin, err = sess.StdinPipe(); err != nil {
			return fmt.Errorf("stdin pipe: %w", err)
		}
	}
	id := runID()
	if err := sess.Start(wrapCommand(id, cmd)); err != nil {
		if lost := c.lost(); lost != nil {
			return lost
		}
		return fmt.Errorf("start: %w", err)
	}

	// Wait and the stdin feeder can outlive Run when a cancelled command
	// never ends (a server that ignores both kills); they are tracked by
	// the client, and Close ends them by closing the connection.
	finished := make(chan struct{})
	waitc := make(chan error, 1)
	if !c.goTracked(func() {
		defer close(finished)
		waitc <- sess.Wait()
	}) {
		return c.lost()
	}
	var feedc chan error
	if feed != nil {
		feedc = make(chan error, 1)
		if !c.goTracked(func() { feedc <- feed(stdin) }) {
			return c.lost()
		}
	}

	abort := make(chan struct{})
	var abortOnce sync.Once
	gaveUp := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-finished:
			return
		case <-ctx.Done():
		case <-abort:
		}
		c.cancelRemote(sess, id, finished)
		t := time.NewTimer(c.cfg.CancelGrace)
		defer t.Stop()
		select {
		case <-finished:
		case <-t.C:
			close(gaveUp)
		}
	}()
	defer wg.Wait()

	var waitErr, feedErr error
	waited, abandoned := false, false
	for !waited && !abandoned {
		select {
		case waitErr = <-waitc:
			waited = true
		case feedErr = <-feedc:
			feedc = nil
			if feedErr != nil {
				// Kill the command before the channel closes: closing
				// alone would let it see end of input and finish with
				// partial data.
				abortOnce.Do(func() { close(abort) })
			}
		case <-gaveUp:
			abandoned = true
		}
	}
	if waited && feedc != nil {
		// The channel is closed once Wait returns, so the feeder's
		// writes fail at once and it cannot touch the reader later.
		feedErr = <-feedc
	}

	if err := ctx.Err(); err != nil {
		return err
	}
	if lost := c.lost(); lost != nil {
		return lost
	}
	if abandoned {
		return errors.New("command did not end after kill")
	}
	var srcErr *sourceError
	if errors.As(feedErr, &srcErr) {
		return srcErr
	}
	if ee := exitError(waitErr); ee != nil {
		return ee
	}
	if feedErr != nil {
		return fmt.Errorf("write stdin: %w", feedErr)
	}
	return nil
}

// sourceError is a feeder's failure to read its own input, as opposed to a
// failure to write it to the guest; it wins over the exit status of the
// command it caused to be killed.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return "read source: " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// copyInput copies r to the command's stdin and closes it, tagging read
// failures as *sourceError. On any failure stdin is left open so the
// command never sees a clean end of input.
func copyInput(w io.WriteCloser, r io.Reader) (int64, error) {
	var n int64
	buf := make([]byte, 256<<10)
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, w.Close()
		}
		if rerr != nil {
			return n, &sourceError{err: rerr}
		}
	}
}

// exitError converts x/crypto/ssh's wait result into the package's errors.
func exitError(err error) error {
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if ee.Signal() != "" {
			return &ExitError{Code: -1, Signal: ee.Signal()}
		}
		return &ExitError{Code: ee.ExitStatus()}
	case errors.As(err, &missing):
		return fmt.Errorf("%w: %v", ErrConnectionLost, err)
	}
	return err
}

// cancelRemote kills a running command: the signal request kills the
// session's process group on servers that support it (OpenSSH >= 7.9, the
// simulator); when the command has not ended after CancelGrace, a second
// command kills the process group recorded by the wrapper. The session is
// closed last so Wait returns even if the server never reports an exit.
func (c *Client) cancelRemote(sess *ssh.Session, id string, finished <-chan struct{}) {
	c.log.Info("guest command cancelled")
	if !c.noSignal {
		_ = sess.Signal(ssh.SIGKILL)
		t := time.NewTimer(c.cfg.CancelGrace)
		defer t.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout)
		defer cancel()
		select {
		case <-finished:
			// The killed shell could not run its EXIT trap.
			_ = c.run(ctx, removePIDCommand(id), nil, nil, nil)
			return
		case <-c.done:
			return
		case <-t.C:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout)
	defer cancel()
	if err := c.run(ctx, killCommand(id), nil, nil, nil); err != nil {
		c.log.Warn("kill guest process group failed", "error", err)
	}
	_ = sess.Close()
}

// wrapCommand prefixes cmd so the login shell records its pid, which is its
// process group (sshd and the simulator start each command in a new
// session), in a file the kill command can read. An EXIT trap removes the
// file when the command ends normally, so no trace is left in the guest.
// The user's command runs in the same shell, unchanged.
func wrapCommand(id, cmd string) string {
	return `__fleet_pid="${TMPDIR:-/tmp}/.fleet-run-` + id + `.pid"; ` +
		`{ echo $$ >"$__fleet_pid"; } 2>/dev/null; ` +
		`trap 'rm -f "$__fleet_pid"' EXIT` + "\n" + cmd
}

// killCommand kills the process group recorded by wrapCommand for id.
func killCommand(id string) string {
	return `p="${TMPDIR:-/tmp}/.fleet-run-` + id + `.pid"; ` +
		`if [ -f "$p" ]; then g=$(cat "$p"); kill -KILL -- "-$g" 2>/dev/null || kill -KILL "$g" 2>/dev/null; rm -f "$p"; fi; true`
}

// removePIDCommand removes the pid file of a command that was killed.
func removePIDCommand(id string) string {
	return `rm -f "${TMPDIR:-/tmp}/.fleet-run-` + id + `.pid"`
}

func runID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// streams is the lock shared by one command's stdout and stderr writers.
type streams struct {
	mu       sync.Mutex
	detached bool // set when Run returns; later output is dropped
}

func (s *streams) detach() {
	s.mu.Lock()
	s.detached = true
	s.mu.Unlock()
}

type streamWriter struct {
	s *streams
	w io.Writer
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.detached {
		return len(p), nil
	}
	return w.w.Write(p)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
