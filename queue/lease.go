// This file keeps the host lease: every heartbeat renews this host's entry
// in <ns>:fleet:leases (a ZSET, member = host name, score = the lease's end in
// Unix milliseconds of Redis server time) together with Resque's own
// workers:heartbeat entries, and re-registers the host's slots, so a host
// that was only cut off and whose workers were reaped shows up again.

package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// leaseKeep is how long after its end a dead host's lease stays in
// <ns>:fleet:leases, so that `agent status --fleet` can show it.
const leaseKeep = time.Hour

// leases is the ZSET of host leases.
func (k keys) leases() string { return k.key("fleet", "leases") }

// recovered is the capped list of JSON records of recovered jobs.
func (k keys) recovered() string { return k.key("fleet", "recovered") }

// fence is the counter that hands out fencing tokens, one per attempt.
func (k keys) fence() string { return k.key("fleet", "fence") }

// recoveredCap bounds <ns>:fleet:recovered.
const recoveredCap = 1000

// unixMS is t in Unix milliseconds, the unit of lease scores.
func unixMS(t time.Time) int64 { return t.UnixMilli() }

// Heartbeat renews this host's lease and writes workers:heartbeat for every
// registered slot, both stamped with Redis server time as Resque does.
// Slots a reaper removed while this host was cut off are registered again.
func (c *Client) Heartbeat(ctx context.Context) error {
	now, err := c.rdb.Time(ctx).Result()
	if err != nil {
		return fmt.Errorf("heartbeat: server time: %w", err)
	}
	k := c.keys
	ids := c.reg.ids()
	stamp := now.UTC().Format(time.RFC3339)
	_, err = c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, k.leases(), redis.Z{Score: float64(unixMS(now.Add(c.cfg.HostLease))), Member: c.cfg.Host})
		if len(ids) == 0 {
			return nil
		}
		vals := make([]any, 0, 2*len(ids))
		members := make([]any, 0, len(ids))
		for _, id := range ids {
			vals = append(vals, id, stamp)
			members = append(members, id)
		}
		p.HSet(ctx, k.heartbeat(), vals...)
		p.SAdd(ctx, k.workers(), members...)
		p.SAdd(ctx, k.slots(), members...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// ReleaseLease removes this host's lease, for a clean shutdown after every
// slot has been unregistered.
func (c *Client) ReleaseLease(ctx context.Context) error {
	if err := c.rdb.ZRem(ctx, c.keys.leases(), c.cfg.Host).Err(); err != nil {
		return fmt.Errorf("release lease %s: %w", c.cfg.Host, err)
	}
	return nil
}

// Lease is one host's lease as read from Redis.
type Lease struct {
	Host string
	// Until is when the lease ends, in Redis server time.
	Until time.Time
}

// Leases returns every host lease, and Redis server time to judge them by.
func (c *Client) Leases(ctx context.Context) ([]Lease, time.Time, error) {
	return ReadLeases(ctx, c.rdb, c.cfg.Namespace)
}

// ReadLeases reads the leases under namespace ns without a Client.
func ReadLeases(ctx context.Context, rdb redis.UniversalClient, ns string) ([]Lease, time.Time, error) {
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		return nil, now, fmt.Errorf("leases: server time: %w", err)
	}
	zs, err := rdb.ZRangeWithScores(ctx, keys{ns: ns}.leases(), 0, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, now, fmt.Errorf("leases: %w", err)
	}
	out := make([]Lease, 0, len(zs))
	for _, z := range zs {
		host, _ := z.Member.(string)
		out = append(out, Lease{Host: host, Until: time.UnixMilli(int64(z.Score))})
	}
	return out, now, nil
}
