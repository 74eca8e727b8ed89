package guest

// This file waits for a booting or restored VM's SSH server to answer.

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrWaitTimeout is matched (errors.Is) by a *WaitError.
var ErrWaitTimeout = errors.New("ssh did not come up")

// Backoff bounds for WaitForSSH: the first retry comes quickly because a
// resumed VM answers within seconds, later ones back off so a slow cold
// boot is not hammered.
const (
	waitFirstDelay = 100 * time.Millisecond
	waitMaxDelay   = 2 * time.Second
)

// WaitError reports that WaitForSSH gave up. It unwraps to the last dial
// error, so errors.Is(err, syscall.ECONNREFUSED) and the like work.
type WaitError struct {
	VM       string
	Attempts int
	Took     time.Duration
	Last     error
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("wait for ssh on vm %s: gave up after %s and %d attempts: %v",
		e.VM, e.Took.Round(time.Millisecond), e.Attempts, e.Last)
}

// Unwrap returns the last dial error.
func (e *WaitError) Unwrap() error { return e.Last }

// Is makes errors.Is(err, ErrWaitTimeout) true.
func (e *WaitError) Is(target error) bool { return target == ErrWaitTimeout }

// WaitForSSH dials cfg until the VM accepts a connection, backing off
// between attempts, for at most timeout in total. Each attempt is bounded
// by the smaller of cfg.DialTimeout and the time left. A host key mismatch
// ends the wait at once (it never fixes itself); anything else is retried.
// Giving up returns a *WaitError carrying the last error; ctx ending
// returns an error matching ctx.Err().
func WaitForSSH(ctx context.Context, cfg Config, timeout time.Duration) (*Client, error) {
	cfg = cfg.withDefaults()
	start := time.Now()
	deadline := start.Add(timeout)
	delay := waitFirstDelay
	var last error
	attempts := 0
	for {
		left := time.Until(deadline)
		if left <= 0 && attempts > 0 {
			break
		}
		attemptCfg := cfg
		attemptCfg.DialTimeout = max(min(cfg.DialTimeout, left), time.Millisecond)
		attempts++
		c, err := Dial(ctx, attemptCfg)
		if err == nil {
			c.cfg.DialTimeout = cfg.DialTimeout
			cfg.Log.Debug("guest ssh ready", "vm", cfg.VM, "attempts", attempts, "took", time.Since(start))
			return c, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("wait for ssh on vm %s: %w", cfg.VM, cerr)
		}
		if errors.Is(err, ErrHostKeyChanged) {
			return nil, err
		}
		last = err
		pause := min(delay, time.Until(deadline))
		if pause <= 0 {
			break
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for ssh on vm %s: %w", cfg.VM, ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, waitMaxDelay)
	}
	return nil, &WaitError{VM: cfg.VM, Attempts: attempts, Took: time.Since(start), Last: last}
}
