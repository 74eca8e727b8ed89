// This file holds the controls any host can use on a running fleet: cancel
// a job, and pause or resume fetching on every slot of a host.

package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrCanceled is the cause of a context returned by WatchCancel when the
// job was canceled through the queue.
var ErrCanceled = errors.New("queue: job canceled")

// cancelPoll bounds how late a cancel is seen if its message was missed
// (for example while the subscription reconnected).
const cancelPoll = 500 * time.Millisecond

// Cancel asks whichever worker runs job id to stop it. The request is a key
// (kept for Retention, so a job that starts later is canceled at once) and
// a message for immediate delivery.
func (c *Client) Cancel(ctx context.Context, id string) error {
	if !idRe.MatchString(id) {
		return fmt.Errorf("cancel job %q: not a valid job id", id)
	}
	k := c.keys
	if err := c.rdb.Set(ctx, k.cancel(id), "1", c.cfg.Retention).Err(); err != nil {
		return fmt.Errorf("cancel job %s: %w", id, err)
	}
	if err := c.rdb.Publish(ctx, k.cancelChannel(), id).Err(); err != nil {
		return fmt.Errorf("cancel job %s: publish: %w", id, err)
	}
	return nil
}

// WatchCancel returns a context derived from ctx that is canceled with
// cause ErrCanceled when job id is canceled through Cancel, from any host,
// within a second, or with cause ErrStale when another attempt has taken
// over the job this host runs. The returned stop function ends the watch and waits for
// its goroutine; call it when the job is done.
func (c *Client) WatchCancel(ctx context.Context, id string) (context.Context, func()) {
	wctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.watchCancel(wctx, id, cancel) })
	return wctx, func() {
		cancel(context.Canceled)
		wg.Wait()
	}
}

func (c *Client) watchCancel(ctx context.Context, id string, cancel context.CancelCauseFunc) {
	k := c.keys
	hit, ready := c.cancels.add(id)
	defer c.cancels.remove(id, hit)
	// Wait for the subscription before the first look at the key, so a
	// cancel between the two is not missed.
	select {
	case <-ready:
	case <-ctx.Done():
		return
	}
	canceled := func() bool {
		n, err := c.rdb.Exists(ctx, k.cancel(id)).Result()
		return err == nil && n > 0
	}
	if canceled() {
		cancel(ErrCanceled)
		return
	}
	t := time.NewTicker(cancelPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hit:
			cancel(ErrCanceled)
			return
		case <-t.C:
			if canceled() {
				cancel(ErrCanceled)
				return
			}
			if stale, err := c.Stale(ctx, id); err == nil && stale {
				c.log.Warn("stale_attempt_stopped", "job_id", id,
					"reason", "another host took the job over; stopping this attempt")
				cancel(ErrStale)
				return
			}
		}
	}
}

// Pause stops fetching on every slot of this host (all agents that share
// the host name), until Resume. Jobs already running go on.
func (c *Client) Pause(ctx context.Context) error {
	if err := c.rdb.Set(ctx, c.keys.pauseHost(c.cfg.Host), "true", 0).Err(); err != nil {
		return fmt.Errorf("pause %s: %w", c.cfg.Host, err)
	}
	return nil
}

// Resume undoes Pause for this host.
func (c *Client) Resume(ctx context.Context) error {
	if err := c.rdb.Del(ctx, c.keys.pauseHost(c.cfg.Host)).Err(); err != nil {
		return fmt.Errorf("resume %s: %w", c.cfg.Host, err)
	}
	return nil
}

// Paused reports whether this host's slots do not fetch: the host's pause
// flag, or Resque's pause-all-workers set to "true".
func (c *Client) Paused(ctx context.Context) (bool, error) {
	k := c.keys
	vals, err := c.rdb.MGet(ctx, k.pauseHost(c.cfg.Host), k.pauseAll()).Result()
	if err != nil {
		return false, fmt.Errorf("paused: %w", err)
	}
	if vals[0] != nil {
		return true, nil
	}
	s, _ := vals[1].(string)
	return isTrue(s), nil
}
