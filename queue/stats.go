// This file keeps the per-queue throughput counters the dashboard's Queues
// page reads (jobs finished per minute), and each host's published state
// (the worker VMs and what they run) for the Fleet page.

package queue

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// doneRetention is how long a per-minute counter lives: long enough for the
// longest window Throughput is asked for.
const doneRetention = 2 * time.Hour

// done counts the jobs of queue q that ended in the minute starting at unix
// minute m (Unix seconds / 60). Finish increments it in its MULTI.
func (k keys) done(q string, m int64) string {
	return k.key("fleet", "stat", "done", q, strconv.FormatInt(m, 10))
}

// hosts is the hash of each host's published state, field = host name,
// value = JSON the agent writes (see PutHostState).
func (k keys) hosts() string { return k.key("fleet", "hosts") }

// countDone adds the increment of queue q's counter for the minute of at to p.
func (k keys) countDone(ctx context.Context, p redis.Pipeliner, q string, at time.Time) {
	key := k.done(q, at.Unix()/60)
	p.Incr(ctx, key)
	p.Expire(ctx, key, doneRetention)
}

// Throughput returns, for each queue, how many jobs ended per minute on
// average over the whole minutes of window before now (the current,
// partial minute is not counted). One pipelined round trip for all queues.
func (c *Client) Throughput(ctx context.Context, queues []string, window time.Duration, now time.Time) (map[string]float64, error) {
	minutes := int64(window / time.Minute)
	if minutes < 1 {
		minutes = 1
	}
	cur := now.Unix() / 60
	p := c.rdb.Pipeline()
	cmds := make(map[string][]*redis.StringCmd, len(queues))
	for _, q := range queues {
		for m := cur - minutes; m < cur; m++ {
			cmds[q] = append(cmds[q], p.Get(ctx, c.keys.done(q, m)))
		}
	}
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read throughput: %w", err)
	}
	out := make(map[string]float64, len(queues))
	for q, cs := range cmds {
		var n int64
		for _, cmd := range cs {
			v, err := cmd.Int64()
			if err == nil {
				n += v
			}
		}
		out[q] = float64(n) / float64(minutes)
	}
	return out, nil
}

// PutHostState publishes this host's state (JSON made by the agent) for the
// dashboard. Readers show it with the host's lease; a host that stops
// publishing keeps its last state, marked by the time inside it.
func (c *Client) PutHostState(ctx context.Context, state []byte) error {
	if err := c.rdb.HSet(ctx, c.keys.hosts(), c.cfg.Host, state).Err(); err != nil {
		return fmt.Errorf("publish host state: %w", err)
	}
	return nil
}

// DeleteHostState removes this host's published state (on a clean exit).
func (c *Client) DeleteHostState(ctx context.Context) error {
	if err := c.rdb.HDel(ctx, c.keys.hosts(), c.cfg.Host).Err(); err != nil {
		return fmt.Errorf("remove host state: %w", err)
	}
	return nil
}
