// This file enqueues jobs the way any Resque client does, for
// `agent submit`, the demo and tests.

package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrJobExists is returned by Submit for an id that already has a record.
var ErrJobExists = errors.New("queue: job id already used")

// Submit validates a, gives it an id when it has none, records it as
// queued, and pushes it to the tail of queue q exactly as node-resque's
// enqueue does (SADD queues, RPUSH queue:q). It returns the arguments as
// enqueued. It then publishes on <ns>:fleet:notify:<q> so that idle agents
// pick the job up at once; plain Resque clients that only RPUSH are seen at
// the agents' next poll (Config.FetchPoll).
func (c *Client) Submit(ctx context.Context, q string, a Args) (Args, error) {
	if err := checkName("queue", q); err != nil {
		return a, fmt.Errorf("submit: %w", err)
	}
	if a.ID == "" {
		a.ID = NewJobID(time.Now())
	}
	raw, err := Encode(q, a)
	if err != nil {
		return a, fmt.Errorf("submit: %w", err)
	}
	k := c.keys
	// HSETNX claims the id so that two submits of one id cannot both win.
	ok, err := c.rdb.HSetNX(ctx, k.job(a.ID), "id", a.ID).Result()
	if err != nil {
		return a, fmt.Errorf("submit %s: %w", a.ID, err)
	}
	if !ok {
		return a, fmt.Errorf("submit %s: %w", a.ID, ErrJobExists)
	}
	_, err = c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k.job(a.ID), "state", string(StateQueued), "queue", q,
			"submitted_at", time.Now().UTC().Format(time.RFC3339Nano))
		p.SAdd(ctx, k.queues(), q)
		p.RPush(ctx, k.queue(q), raw)
		// Idle host fetchers serving q look at once (hostfetch.go).
		p.Publish(ctx, k.notify(q), q)
		return nil
	})
	if err != nil {
		return a, fmt.Errorf("submit %s: %w", a.ID, err)
	}
	c.log.Info("job_submitted", "job_id", a.ID, "queue", q)
	return a, nil
}

// NewJobID returns a fresh, sortable job id such as
// "20260112-152355-9f3a1c2b".
func NewJobID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// isTrue reads a flag the way Ruby Resque reads pause-all-workers.
func isTrue(s string) bool {
	return strings.EqualFold(strings.TrimSpace(s), "true")
}
