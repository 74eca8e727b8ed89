// This file shares one pub/sub subscription to the cancel channel among
// every job a Client watches (WatchCancel), instead of one connection per
// running job: 32 busy workers hold one subscription, not 32.

package queue

import (
	"context"
	"sync"
)

// cancelHub fans the cancel channel's messages out to the watches of the
// job ids they name. Its loop runs while at least one watch is registered.
type cancelHub struct {
	c *Client

	mu      sync.Mutex
	watches map[string]map[chan struct{}]struct{} // guarded by mu; by job id
	n       int                                   // guarded by mu; watches registered
	ready   chan struct{}                         // guarded by mu; closed once the loop's subscription answered
	stop    context.CancelFunc                    // guarded by mu; ends the loop
	done    chan struct{}                         // guarded by mu; closed when the loop has ended
}

// add registers a watch of job id. hit receives a value when a cancel
// message for id arrives; ready is closed once the subscription is in place
// (or failed: the watch's poll covers that), so that a cancel sent after it
// is not missed.
func (h *cancelHub) add(id string) (hit chan struct{}, ready <-chan struct{}) {
	hit = make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watches == nil {
		h.watches = map[string]map[chan struct{}]struct{}{}
	}
	if h.watches[id] == nil {
		h.watches[id] = map[chan struct{}]struct{}{}
	}
	h.watches[id][hit] = struct{}{}
	h.n++
	if h.n == 1 {
		ctx, cancel := context.WithCancel(context.Background())
		h.ready, h.stop, h.done = make(chan struct{}), cancel, make(chan struct{})
		go h.run(ctx, h.ready, h.done)
	}
	return hit, h.ready
}

// remove ends a watch; the last one ends the loop and waits for it.
func (h *cancelHub) remove(id string, hit chan struct{}) {
	h.mu.Lock()
	delete(h.watches[id], hit)
	if len(h.watches[id]) == 0 {
		delete(h.watches, id)
	}
	h.n--
	var (
		stop context.CancelFunc
		done chan struct{}
	)
	if h.n == 0 {
		stop, done = h.stop, h.done
	}
	h.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (h *cancelHub) run(ctx context.Context, ready, done chan struct{}) {
	defer close(done)
	sub := h.c.rdb.Subscribe(ctx, h.c.keys.cancelChannel())
	defer sub.Close()
	_, _ = sub.Receive(ctx)
	close(ready)
	msgs := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			h.mu.Lock()
			for hit := range h.watches[m.Payload] {
				select {
				case hit <- struct{}{}:
				default:
				}
			}
			h.mu.Unlock()
		}
	}
}
