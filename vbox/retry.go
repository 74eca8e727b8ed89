package vbox

// This file is the call layer above the exec seam: classification of every result, the
// mutation slots, and the bounded retry of lock and transient errors that real drivers
// agree on (VBOXMANAGE.md section 4).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxBackoff caps the delay between two attempts.
const maxBackoff = 8 * time.Second

// After this driver powers a VM off or saves its state, VirtualBox may hold the VM's session
// lock for about a second more (VBOX-TIMINGS.md 1.5: ~0.9 s implied by packer#3744). Backing off
// from 250 ms would find it clear only at 1.75 s, on every rollback; instead, within
// lockPollWindow of such a stop, a mutation of that VM that finds it locked is tried again
// every lockPoll without using up its retries, and backs off as usual after the window.
const (
	lockPoll       = 100 * time.Millisecond
	lockPollWindow = 3 * time.Second
)

// call is one logical VBoxManage invocation.
type call struct {
	args []string
	// mutate marks calls that change VirtualBox state; they take a MaxParallel slot.
	mutate bool
	// progress, when set, receives the percentages VBoxManage prints on stderr.
	progress ProgressFunc
	// beforeRetry, when set, runs before each retry; a non-nil error stops the retries and is
	// returned instead (a lock that will never clear, such as startvm on a running VM).
	beforeRetry func(ctx context.Context, err error) error
	// vm is the VM a mutation acts on (set by Driver.mutate), for the lock poll after a stop.
	vm string
}

// do runs c, retrying ErrLocked and ErrTransient failures with exponential backoff up to
// Config.Retries times. The error of the last attempt is returned, wrapped with the number of
// attempts when the driver gave up.
func (d *Driver) do(ctx context.Context, c call) (result, error) {
	delay := d.cfg.RetryBase
	for attempt := 1; ; attempt++ {
		res, err := d.once(ctx, c)
		if err == nil || !Retryable(err) {
			return res, err
		}
		polling := errors.Is(err, ErrLocked) && d.justStopped(c.vm)
		wait := delay
		if polling {
			wait = min(lockPoll, delay)
			attempt-- // polling the lock a stop left does not use up the call's retries
		}
		if attempt > d.cfg.Retries {
			return res, fmt.Errorf("give up after %d attempts: %w", attempt, err)
		}
		if c.beforeRetry != nil {
			if stop := c.beforeRetry(ctx, err); stop != nil {
				return res, stop
			}
		}
		d.log.Debug("vboxmanage retry", "args", c.args, "attempt", attempt, "delay", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, fmt.Errorf("retry %s: %w", c.args[0], ctx.Err())
		case <-t.C:
		}
		if !polling {
			delay = min(delay*2, maxBackoff)
		}
	}
}

// noteStopped records that this driver just powered vm off or saved its state.
func (d *Driver) noteStopped(vm string) {
	key := d.lockKey(vm)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped == nil {
		d.stopped = map[string]time.Time{}
	}
	now := time.Now()
	for k, at := range d.stopped { // keep the map small: only recent stops matter
		if now.Sub(at) > lockPollWindow {
			delete(d.stopped, k)
		}
	}
	d.stopped[key] = now
}

// justStopped reports whether this driver stopped vm less than lockPollWindow ago.
func (d *Driver) justStopped(vm string) bool {
	if vm == "" {
		return false
	}
	key := d.lockKey(vm)
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.stopped[key]
	return ok && time.Since(at) < lockPollWindow
}

// once runs c a single time and classifies the result.
func (d *Driver) once(ctx context.Context, c call) (result, error) {
	if c.mutate {
		release, err := d.acquireSlot(ctx)
		if err != nil {
			return result{}, fmt.Errorf("wait for a mutation slot: %w", err)
		}
		defer release()
	}
	var pw io.Writer
	if c.progress != nil {
		pw = newProgressWriter(c.progress)
	}
	res, err := d.run(ctx, c.args, pw)
	if err != nil {
		return res, err
	}
	return res, Classify(c.args, res.exitCode, res.stderr)
}
