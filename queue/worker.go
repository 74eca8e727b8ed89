// This file keeps the Resque worker registry for the agent's slots: one
// Resque worker id per VM slot, registration, heartbeats in Redis server
// time, and a clean unregister. Run is the background loop that heartbeats
// and recovers orphaned jobs.

package queue

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// rubyTimeLayout is Ruby's Time#to_s, which Resque writes to
// worker:<id>:started.
const rubyTimeLayout = "2006-01-02 15:04:05 -0700"

// Slot is one worker slot (one VM) on this host, seen by Resque as one
// worker. Its methods are safe for concurrent use; a slot holds at most one
// job at a time.
type Slot struct {
	c      *Client
	id     string // host:pid-slot:q1,q2, the Resque worker id
	name   string // host:pid-slot, the id without queues (node-resque's "name")
	queues []string

	mu       sync.Mutex
	current  *Job          // guarded by mu; the job fetched and not yet finished
	draining bool          // guarded by mu
	idle     chan struct{} // guarded by mu; closed once draining with no job
	drained  chan struct{} // guarded by mu; closed by Drain, so a waiting Fetch returns at once
}

// NewSlot returns the slot named slot (e.g. "0" or a VM name) fetching from
// queues in the given order. Neither may contain ':' or ','.
func (c *Client) NewSlot(slot string, queues []string) (*Slot, error) {
	if err := checkName("slot", slot); err != nil {
		return nil, err
	}
	if len(queues) == 0 {
		return nil, fmt.Errorf("slot %s: no queues", slot)
	}
	for _, q := range queues {
		if err := checkName("queue", q); err != nil {
			return nil, fmt.Errorf("slot %s: %w", slot, err)
		}
	}
	name := fmt.Sprintf("%s:%d-%s", c.cfg.Host, c.cfg.PID, slot)
	return &Slot{
		c:       c,
		id:      name + ":" + strings.Join(queues, ","),
		name:    name,
		queues:  append([]string(nil), queues...),
		drained: make(chan struct{}),
	}, nil
}

// ID returns the Resque worker id, host:pid-slot:q1,q2.
func (s *Slot) ID() string { return s.id }

// Queues returns the queues the slot fetches from, in order.
func (s *Slot) Queues() []string { return append([]string(nil), s.queues...) }

// workerID is a parsed Resque worker id of the form our slots use.
type workerID struct {
	host   string
	pid    int
	queues []string
}

// parseWorkerID splits host:pid[-slot]:q1,q2. ok is false for ids of other
// shapes (Ruby or node-resque workers), which recovery leaves alone.
func parseWorkerID(id string) (w workerID, ok bool) {
	parts := strings.Split(id, ":")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return w, false
	}
	pidPart, _, _ := strings.Cut(parts[1], "-")
	pid, err := strconv.Atoi(pidPart)
	if err != nil || pid <= 0 {
		return w, false
	}
	return workerID{host: parts[0], pid: pid, queues: strings.Split(parts[2], ",")}, true
}

// registry holds the slots registered by this Client, for heartbeats.
type registry struct {
	mu    sync.Mutex
	slots map[string]*Slot
}

func (r *registry) add(s *Slot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.slots == nil {
		r.slots = make(map[string]*Slot)
	}
	r.slots[s.id] = s
}

func (r *registry) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.slots, id)
}

func (r *registry) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.slots[id]
	return ok
}

func (r *registry) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.slots))
	for id := range r.slots {
		ids = append(ids, id)
	}
	return ids
}

// Register announces the slot as a Resque worker: workers set, started
// time, a first heartbeat, and the agent's slot set used by recovery.
func (s *Slot) Register(ctx context.Context) error {
	now, err := s.c.rdb.Time(ctx).Result()
	if err != nil {
		return fmt.Errorf("register %s: server time: %w", s.id, err)
	}
	k := s.c.keys
	_, err = s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, k.heartbeat(), s.id)
		p.HSet(ctx, k.heartbeat(), s.id, now.UTC().Format(time.RFC3339))
		p.SAdd(ctx, k.workers(), s.id)
		p.Set(ctx, k.started(s.id), time.Now().Format(rubyTimeLayout), 0)
		p.SAdd(ctx, k.slots(), s.id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("register %s: %w", s.id, err)
	}
	s.c.reg.add(s)
	s.c.log.Info("worker_registered", "worker", s.id)
	return nil
}

// Unregister removes the slot from the registry as Resque's
// unregister_worker does. A job still held is put back at the head of its
// queue without counting an attempt: a clean shutdown is not the job's fault.
func (s *Slot) Unregister(ctx context.Context) error {
	s.mu.Lock()
	held := s.current
	s.mu.Unlock()
	if held != nil {
		if err := s.putBack(ctx, held); err != nil {
			return fmt.Errorf("unregister %s: %w", s.id, err)
		}
	}
	// Out of the registry first, so a heartbeat does not register it again.
	s.c.reg.remove(s.id)
	k := s.c.keys
	_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SRem(ctx, k.workers(), s.id)
		p.Del(ctx, k.worker(s.id), k.started(s.id), k.processedBy(s.id), k.failedBy(s.id))
		p.HDel(ctx, k.heartbeat(), s.id)
		p.SRem(ctx, k.slots(), s.id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("unregister %s: %w", s.id, err)
	}
	s.c.log.Info("worker_unregistered", "worker", s.id)
	return nil
}

// Run heartbeats every HeartbeatInterval, delivers what waits in the
// outbox, and recovers orphaned jobs at once and every RecoverInterval,
// until ctx ends. While Redis is unreachable it retries the heartbeat with
// a bounded, jittered backoff and leaves everything else for later; Run
// returns nil when ctx ends.
func (c *Client) Run(ctx context.Context) error {
	hbFails := 0
	next := c.cfg.HeartbeatInterval
	beat := func() {
		err := c.Heartbeat(ctx)
		switch {
		case err == nil:
			hbFails, next = 0, c.cfg.HeartbeatInterval
		case ctx.Err() != nil:
		default:
			if !Transient(err) || hbFails == 0 {
				c.log.Warn("heartbeat_failed", "err", err)
			}
			next = retryDelay(hbFails)
			hbFails++
		}
	}
	beat()
	// Results kept while Redis was away go first: the reaper must not take
	// this host's own jobs back from under them.
	if err := c.deliverOutbox(ctx); err != nil && ctx.Err() == nil {
		c.log.Warn("outbox_delivery_failed", "err", err)
	}
	c.recoverAndLog(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { c.runOutbox(ctx) })
	hb := time.NewTimer(next)
	defer hb.Stop()
	rc := time.NewTicker(c.cfg.RecoverInterval)
	defer rc.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hb.C:
			beat()
			hb.Reset(next)
		case <-rc.C:
			c.recoverAndLog(ctx)
		}
	}
}

func (c *Client) recoverAndLog(ctx context.Context) {
	rep, err := c.Recover(ctx)
	if err != nil {
		// An outage is logged once, by the connection's health.
		if ctx.Err() == nil && !Transient(err) {
			c.log.Warn("recover_failed", "err", err)
		}
		return
	}
	if rep.Requeued > 0 || rep.Poisoned > 0 {
		c.log.Info("recovered_orphans", "requeued", rep.Requeued, "poisoned", rep.Poisoned,
			"workers", len(rep.Workers))
	}
}
