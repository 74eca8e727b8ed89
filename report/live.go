// This file is the reloadable set of reporters `agent run` reports through: a live edit of
// fleet.hcl's report blocks keeps every reporter whose config did not change (with the events
// it has queued), starts one per new block, and closes the reporters whose block went away,
// which first deliver what they hold within the flush bound.

package report

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/fleet-agent/fleet/queue"
)

// DefaultRetireFlush bounds how long a reporter whose block was removed keeps delivering.
const DefaultRetireFlush = 10 * time.Second

// Live fans events out to the reporters of the fleet.hcl in force. Its methods are safe for
// concurrent use; Run runs every reporter, including those Update adds.
type Live struct {
	log   *slog.Logger
	flush time.Duration
	wake  chan struct{} // cap 1: Update changed the set, or Close was called

	mu sync.Mutex // guards everything below
	// cur is the set events go to; replaced (never changed in place) by Update.
	cur  Multi
	cfgs []Config // cur[i] was made from cfgs[i]
	// started holds the reporters Run has started; retiring, the removed ones Run must close.
	started  map[*Reporter]bool
	retiring []*Reporter
	closed   bool
}

// NewLive returns a Live with one reporter per config. flush bounds the delivery of a removed
// reporter's queue (default DefaultRetireFlush).
func NewLive(cfgs []Config, flush time.Duration, log *slog.Logger) (*Live, error) {
	m, err := NewMulti(cfgs, log)
	if err != nil {
		return nil, err
	}
	if flush <= 0 {
		flush = DefaultRetireFlush
	}
	return &Live{log: log, flush: flush, wake: make(chan struct{}, 1), cur: m, cfgs: cfgs, started: map[*Reporter]bool{}}, nil
}

// Update makes cfgs the reporters in force. A reporter whose config equals one in cfgs stays
// (its queue with it); the others are made now (an error changes nothing) and the removed
// ones are closed by Run.
func (l *Live) Update(cfgs []Config) error {
	l.mu.Lock()
	old, oldCfgs := l.cur, l.cfgs
	l.mu.Unlock()
	kept := make([]bool, len(old))
	next := make(Multi, len(cfgs))
	var made []*Reporter
	for i, c := range cfgs {
		for j, oc := range oldCfgs {
			if !kept[j] && sameConfig(c, oc) {
				kept[j], next[i] = true, old[j]
				break
			}
		}
		if next[i] != nil {
			continue
		}
		r, err := New(c, l.log)
		if err != nil {
			return err
		}
		next[i] = r
		made = append(made, r)
	}
	l.mu.Lock()
	l.cur, l.cfgs = next, cfgs
	for j, r := range old {
		if !kept[j] {
			l.retiring = append(l.retiring, r)
		}
	}
	l.mu.Unlock()
	signal(l.wake)
	return nil
}

// sameConfig compares two configs but for their OnDrop hooks (funcs are never
// equal to reflect).
func sameConfig(a, b Config) bool {
	a.OnDrop, b.OnDrop = nil, nil
	return reflect.DeepEqual(a, b)
}

// reporters returns the set in force.
func (l *Live) reporters() Multi {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// Run runs every reporter in force, starts those Update adds and closes those it removes,
// until ctx ends or Close has flushed; it returns when every reporter's Run has returned.
func (l *Live) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		l.mu.Lock()
		for _, r := range l.cur {
			if !l.started[r] {
				l.started[r] = true
				wg.Go(func() {
					if err := r.Run(ctx); err != nil && ctx.Err() == nil {
						l.log.Error("report_run_failed", "reporter", r.cfg.Name, "err", err)
					}
				})
			}
		}
		for _, r := range l.retiring {
			delete(l.started, r)
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, l.flush)
				defer cancel()
				if err := r.Close(cctx); err != nil {
					l.log.Warn("report_retire_incomplete", "reporter", r.cfg.Name, "err", err)
				}
			})
		}
		l.retiring = nil
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-l.wake:
		}
	}
}

// Close flushes the reporters in force within ctx (Multi.Close) and tells Run to return once
// they have.
func (l *Live) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	m := l.cur
	l.mu.Unlock()
	signal(l.wake)
	return m.Close(ctx)
}

// Received calls Received on every reporter in force.
func (l *Live) Received(job *queue.Job) { l.reporters().Received(job) }

// Started calls Started on every reporter in force.
func (l *Live) Started(jobID string, s Start) { l.reporters().Started(jobID, s) }

// Log calls Log on every reporter in force.
func (l *Live) Log(jobID string, chunk []byte) { l.reporters().Log(jobID, chunk) }

// Finished calls Finished on every reporter in force.
func (l *Live) Finished(jobID string, f Finish) { l.reporters().Finished(jobID, f) }

// Requeued calls Requeued on every reporter in force.
func (l *Live) Requeued(jobID, reason string) { l.reporters().Requeued(jobID, reason) }

// Canceled calls Canceled on every reporter in force.
func (l *Live) Canceled(jobID, reason string) { l.reporters().Canceled(jobID, reason) }

// Len is how many reporters are in force.
func (l *Live) Len() int { return len(l.reporters()) }
