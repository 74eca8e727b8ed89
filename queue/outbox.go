// This file is the outbox: a job that ends while Redis is unreachable has its
// result (or its requeue) kept as one file in Config.OutboxDir, written
// atomically and synced, and Run delivers it once Redis is back, also after
// the agent restarted. Delivery goes through the same fenced write as a
// live result, so it happens exactly once: a result already recorded by
// this attempt is not recorded again, and a result whose job another host
// took over meanwhile is discarded as a stale attempt.

package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Kinds of pending entries.
const (
	pendingFinish  = "finish"
	pendingRequeue = "requeue"
)

// pending is one result or requeue not yet written to Redis.
type pending struct {
	Kind    string `json:"kind"`
	Worker  string `json:"worker"` // the Resque worker id of the slot that ran the job
	Host    string `json:"host"`
	JobID   string `json:"job_id"`
	Queue   string `json:"queue"`
	Payload []byte `json:"payload"` // the exact bytes from the queue
	Attempt int    `json:"attempt"`
	Fence   int64  `json:"fence"`
	// The result, for kind finish.
	State      State  `json:"state,omitempty"`
	ExitCode   int    `json:"exit_code"`
	Error      string `json:"error,omitempty"`
	Failure    []byte `json:"failure,omitempty"` // the Resque failure record of an errored job
	FinishedAt string `json:"finished_at,omitempty"`
}

// job is the attempt p belongs to.
func (p *pending) job() *Job {
	return &Job{Args: Args{ID: p.JobID}, Queue: p.Queue, Raw: p.Payload, Attempt: p.Attempt, Fence: p.Fence}
}

// fileName names p's file: one per attempt.
func (p *pending) fileName() string {
	id := p.JobID
	if !outboxSafe.MatchString(id) {
		sum := sha256.Sum256(p.Payload)
		id = "job-" + hex.EncodeToString(sum[:12])
	}
	return id + "." + strconv.FormatInt(p.Fence, 10) + ".json"
}

var outboxSafe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// outbox holds the pending entries, on disk and in memory.
type outbox struct {
	dir  string
	wake chan struct{} // capacity 1: an entry was added

	mu    sync.Mutex
	items map[string]*pending // guarded by mu; by file name
}

// openOutbox creates dir if needed and loads what an earlier run left in
// it. A file that cannot be read is logged and left where it is.
func openOutbox(dir string, log *slog.Logger) (*outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	ob := &outbox{dir: dir, wake: make(chan struct{}, 1), items: map[string]*pending{}}
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	for _, path := range names {
		b, err := os.ReadFile(path)
		var p pending
		if err == nil {
			err = json.Unmarshal(b, &p)
		}
		if err == nil && p.Kind != pendingFinish && p.Kind != pendingRequeue {
			err = fmt.Errorf("kind %q", p.Kind)
		}
		if err != nil {
			log.Error("outbox_entry_unreadable", "file", path, "err", err)
			continue
		}
		ob.items[filepath.Base(path)] = &p
	}
	if len(ob.items) > 0 {
		log.Info("outbox_loaded", "entries", len(ob.items), "dir", dir)
		ob.poke()
	}
	return ob, nil
}

// put writes p durably (temp file, fsync, rename, fsync of the folder).
func (ob *outbox) put(p *pending) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	name := p.fileName()
	f, err := os.CreateTemp(ob.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(ob.dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("outbox: %w", err)
	}
	if d, err := os.Open(ob.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	ob.mu.Lock()
	ob.items[name] = p
	ob.mu.Unlock()
	ob.poke()
	return nil
}

func (ob *outbox) poke() {
	select {
	case ob.wake <- struct{}{}:
	default:
	}
}

// remove forgets the entry called name.
func (ob *outbox) remove(name string) error {
	ob.mu.Lock()
	delete(ob.items, name)
	ob.mu.Unlock()
	if err := os.Remove(filepath.Join(ob.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// entries returns the pending entries, oldest attempt first.
func (ob *outbox) entries() []string {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	names := make([]string, 0, len(ob.items))
	for n := range ob.items {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return ob.items[names[i]].Fence < ob.items[names[j]].Fence })
	return names
}

func (ob *outbox) get(name string) *pending {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return ob.items[name]
}

// holds reports whether an entry of worker waits (with raw, when raw is
// not nil): its processing list must be left alone until it is delivered.
func (ob *outbox) holds(worker string, raw []byte) bool {
	if ob == nil {
		return false
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	for _, p := range ob.items {
		if p.Worker == worker && (raw == nil || string(p.Payload) == string(raw)) {
			return true
		}
	}
	return false
}

// kept returns the payloads of worker that wait in the outbox, as script
// arguments.
func (ob *outbox) kept(worker string) []any {
	if ob == nil {
		return nil
	}
	ob.mu.Lock()
	defer ob.mu.Unlock()
	var out []any
	for _, p := range ob.items {
		if p.Worker == worker {
			out = append(out, p.Payload)
		}
	}
	return out
}

// Pending returns how many results and requeues wait in the outbox.
func (c *Client) Pending() int {
	if c.outbox == nil {
		return 0
	}
	c.outbox.mu.Lock()
	defer c.outbox.mu.Unlock()
	return len(c.outbox.items)
}

// keep writes p to the outbox, for a result or requeue whose write to
// Redis failed with cause (a transient error). It reports false when there
// is no outbox or it could not be written; the caller then returns cause.
func (c *Client) keep(p *pending, cause error) bool {
	if c.outbox == nil || !Transient(cause) {
		return false
	}
	if err := c.outbox.put(p); err != nil {
		c.log.Error("outbox_write_failed", "job_id", p.JobID, "err", err, "cause", cause)
		return false
	}
	c.log.Warn("result_kept_in_outbox", "job_id", p.JobID, "kind", p.Kind, "state", string(p.State),
		"attempt", p.Attempt, "cause", cause, "note", "delivered once Redis is back")
	return true
}

// deliverOutbox writes every pending entry. It stops at the first
// transient error and returns it; entries that fail otherwise are logged
// and kept for the next round.
func (c *Client) deliverOutbox(ctx context.Context) error {
	if c.outbox == nil {
		return nil
	}
	for _, name := range c.outbox.entries() {
		p := c.outbox.get(name)
		if p == nil {
			continue
		}
		err := c.deliver(ctx, p)
		switch {
		case errors.Is(err, ErrStale):
			c.log.Warn("stale_attempt_discarded", "worker", p.Worker, "job_id", p.JobID, "attempt", p.Attempt,
				"state", string(p.State), "reason", "another host took the job over while Redis was unreachable; this result is not recorded")
		case err != nil && Transient(err):
			return err
		case err != nil:
			c.log.Error("outbox_delivery_failed", "job_id", p.JobID, "err", err)
			continue
		default:
			c.log.Info("outbox_delivered", "worker", p.Worker, "job_id", p.JobID, "kind", p.Kind,
				"state", string(p.State), "attempt", p.Attempt)
		}
		if err := c.outbox.remove(name); err != nil {
			c.log.Error("outbox_remove_failed", "job_id", p.JobID, "err", err)
		}
	}
	return nil
}

// deliver writes one entry; ErrStale (wrapped) when the job is no longer
// this attempt's.
func (c *Client) deliver(ctx context.Context, p *pending) error {
	if p.Kind == pendingFinish {
		_, err := c.writeResult(ctx, p)
		return err
	}
	out, err := c.requeueOne(ctx, p.Worker, p.Queue, p.Payload)
	if err != nil {
		return err
	}
	if err := c.rdb.Del(ctx, c.keys.worker(p.Worker)).Err(); err != nil {
		return err
	}
	if out == outcomeGone {
		return ErrStale
	}
	return nil
}

// runOutbox delivers entries whenever one is added, and retries with
// backoff while Redis is away, until ctx ends.
func (c *Client) runOutbox(ctx context.Context) {
	if c.outbox == nil {
		return
	}
	tries := 0
	for {
		if err := c.deliverOutbox(ctx); err != nil && ctx.Err() == nil {
			if waitRetry(ctx, &tries) != nil {
				return
			}
			continue
		}
		tries = 0
		// Entries refused for another reason are tried again now and then.
		var again <-chan time.Time
		if c.Pending() > 0 {
			again = time.After(c.cfg.HeartbeatInterval)
		}
		select {
		case <-ctx.Done():
			return
		case <-c.outbox.wake:
		case <-again:
		}
	}
}
