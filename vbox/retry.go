package vbox

// This file is the call layer above the exec seam: classification of every result, the
// mutation slots, and the bounded retry of lock and transient errors that real drivers
// agree on (VBOXMANAGE.md section 4).

import (
	"context"
	"fmt"
	"io"
	"time"
)

// maxBackoff caps the delay between two attempts.
const maxBackoff = 8 * time.Second

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
		if attempt > d.cfg.Retries {
			return res, fmt.Errorf("give up after %d attempts: %w", attempt, err)
		}
		if c.beforeRetry != nil {
			if stop := c.beforeRetry(ctx, err); stop != nil {
				return res, stop
			}
		}
		d.log.Debug("vboxmanage retry", "args", c.args, "attempt", attempt, "delay", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, fmt.Errorf("retry %s: %w", c.args[0], ctx.Err())
		case <-t.C:
		}
		delay = min(delay*2, maxBackoff)
	}
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
