// Live reload of the settings a running agent can take without a restart (spec.ClassifyReload
// says which): an edit is put in force all or nothing. A queue edit opens a new queue client
// first; then Config.Reload takes the settings the daemon does not own (listeners, reporters);
// only when both succeeded does the daemon move to the new queue and reset its resync ticker.
//
// Moving the queue: every worker is told to stop; each finishes the job it holds on the old
// queue (the job's record lives there), unregisters and exits, and the next pass starts it
// again on the new queue. The old client keeps running (heartbeats, its outbox) until its last
// worker has gone and its outbox is delivered, then it is closed. runQueues owns the clients'
// Run goroutines.
package daemon

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/fleet-agent/fleet/spec"
)

// SettingError is a live setting an edit changed that the running agent could not take (a
// listener that does not bind, a Redis that does not answer). The edit is rejected with a
// diagnostic located on Setting and nothing of it is applied.
type SettingError struct {
	// Setting is the fleet.hcl name, e.g. "metrics.listen".
	Setting string
	// Err says why; it must hold no secret (it is shown by `agent status`).
	Err error
}

func (e *SettingError) Error() string { return e.Setting + ": " + e.Err.Error() }
func (e *SettingError) Unwrap() error { return e.Err }

// queueGen is one queue client the daemon's workers use: the current one, or a retired one
// whose workers are still finishing their jobs.
type queueGen struct {
	q Queue
	// close releases the client once retired; nil for Config.Queue, which its caller owns.
	close func()
	// workers counts the workers started on q; Add only under Daemon.mu while q is current.
	workers sync.WaitGroup
}

// queueSwitch hands a new current queue to runQueues, and the one it replaces.
type queueSwitch struct{ next, old *queueGen }

// runQueues runs the current queue client and retires replaced ones: a retired client runs
// (heartbeats its workers' registrations) until its last worker has exited, then is closed.
// When ctx ends (after every worker has exited) the current client is closed too.
func (d *Daemon) runQueues(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(g *queueGen) (stop func()) {
		gctx, cancel := context.WithCancel(ctx)
		ran := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ran)
			if err := g.q.Run(gctx); err != nil && gctx.Err() == nil {
				d.log.Error("service_failed", "service", "queue", "err", err)
			}
		}()
		return func() {
			cancel()
			<-ran
			if g.close != nil {
				g.close()
			}
		}
	}
	d.mu.Lock()
	cur := d.queue
	d.mu.Unlock()
	stopCur := start(cur)
	for {
		select {
		case <-ctx.Done():
			stopCur()
			return nil
		case sw := <-d.queueSwitch:
			stopOld := stopCur
			stopCur = start(sw.next)
			wg.Add(1)
			go func() {
				defer wg.Done()
				sw.old.workers.Wait() // every worker exits before ctx ends (see Run)
				d.drainOutbox(ctx, sw.old.q)
				stopOld()
				d.log.Info("queue_retired")
			}()
		}
	}
}

// outboxPoll is how often a retired queue is asked whether its outbox is empty.
const outboxPoll = time.Second

// drainOutbox waits until q has delivered the results waiting in its outbox (its Redis was
// unreachable when they were recorded), or until ctx ends: they are kept on disk then, and
// delivered when the agent runs on that queue again.
func (d *Daemon) drainOutbox(ctx context.Context, q Queue) {
	if q.Pending() == 0 {
		return
	}
	d.log.Warn("queue_retire_waits_for_outbox", "pending", q.Pending())
	tick := time.NewTicker(outboxPoll)
	defer tick.Stop()
	for q.Pending() > 0 {
		select {
		case <-ctx.Done():
			d.log.Warn("queue_retired_with_outbox", "pending", q.Pending())
			return
		case <-tick.C:
		}
	}
}

// applyLive takes the live settings of edit f, all or nothing; an error leaves everything as
// it was. It runs on the loop's goroutine.
func (d *Daemon) applyLive(ctx context.Context, f *spec.Fleet) error {
	d.mu.Lock()
	old, cur := d.fleet, d.queue
	d.mu.Unlock()
	changes := spec.ClassifyReload(old, f)
	var next *queueGen
	for _, c := range changes {
		if c.Class == spec.ReloadLive && strings.HasPrefix(c.Field, "Queue.") {
			if d.cfg.OpenQueue == nil {
				return &SettingError{Setting: c.Setting(), Err: errors.New("this agent cannot move its queue live")}
			}
			q, closeQ, err := d.cfg.OpenQueue(ctx, f)
			if err != nil {
				return &SettingError{Setting: "queue.redis", Err: err}
			}
			next = &queueGen{q: q, close: closeQ}
			break
		}
	}
	inForce := cur.q
	if next != nil {
		inForce = next.q
	}
	if d.cfg.Reload != nil {
		if err := d.cfg.Reload(ctx, old, f, inForce); err != nil {
			if next != nil && next.close != nil {
				next.close()
			}
			return err
		}
	}
	if next != nil {
		d.switchQueue(next)
	}
	return nil
}

// switchQueue makes next the queue of every new worker and stops the workers of the current
// one; each finishes its job first.
func (d *Daemon) switchQueue(next *queueGen) {
	d.mu.Lock()
	old := d.queue
	d.queue = next
	for _, w := range d.workers {
		w.stop()
	}
	d.notifyLocked()
	d.mu.Unlock()
	d.log.Info("queue_moved", "note", "workers move to the new queue after their running job")
	// runQueues serves queueSwitch for the loop's whole life (it ends after the loop).
	d.queueSwitch <- queueSwitch{next: next, old: old}
}

// liveDiagnostics is the located text of a failed live edit.
func liveDiagnostics(err error, files []string) string {
	var se *SettingError
	if errors.As(err, &se) {
		_, text := spec.LiveDiagnostics(se.Setting, se.Err.Error(), files)
		return text
	}
	_, text := spec.LiveDiagnostics("fleet.hcl", err.Error(), files)
	return text
}

// resyncOf is the resync interval of f (default 30s).
func resyncOf(f *spec.Fleet) time.Duration {
	if r := f.Reconcile.Resync; r > 0 {
		return r
	}
	return 30 * time.Second
}
