// This file recovers jobs whose worker died: processing lists of this host
// whose owner is gone go back to the head of their queue, counting an
// attempt beside the payload; a payload that has been started MaxAttempts
// times goes to failed as a poison job instead of looping.

package queue

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// requeueScript moves one payload from a processing list back to the head
// of its queue, or to failed once it has used up its attempts. The LREM
// check makes two concurrent recoverers safe: only one moves the payload.
// KEYS: processing, queue, attempts, failed, stat:failed.
// ARGV: payload, sha1, max attempts, failure record.
// Returns 0 (already gone), 1 (requeued) or 2 (poisoned).
var requeueScript = redis.NewScript(`
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
local n = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
if n >= tonumber(ARGV[3]) then
  redis.call('HDEL', KEYS[3], ARGV[2])
  redis.call('RPUSH', KEYS[4], ARGV[4])
  redis.call('INCR', KEYS[5])
  return 2
end
redis.call('LPUSH', KEYS[2], ARGV[1])
return 1
`)

// outcome is what requeueOne did with a payload.
type outcome int

const (
	outcomeGone outcome = iota
	outcomeRequeued
	outcomePoisoned
)

func (o outcome) String() string {
	return [...]string{"gone", "requeued", "poisoned"}[o]
}

// PoisonError is the failure recorded for a job whose worker died (or gave
// it back) on every one of its attempts.
type PoisonError struct {
	Attempts int
	Worker   string
}

func (e *PoisonError) Error() string {
	return fmt.Sprintf("poison job: started %d times without finishing, last by %s", e.Attempts, e.Worker)
}

// Exception is the class name written to Resque's failed list.
func (e *PoisonError) Exception() string { return "Fleet::PoisonJob" }

func (c *Client) requeueOne(ctx context.Context, worker, queue string, raw []byte) (outcome, error) {
	k := c.keys
	rec, err := failureRecord(raw, &PoisonError{Attempts: c.cfg.MaxAttempts, Worker: worker},
		worker, queue, time.Now())
	if err != nil {
		return outcomeGone, err
	}
	n, err := requeueScript.Run(ctx, c.rdb,
		[]string{k.processing(worker, queue), k.queue(queue), k.attempts(), k.failed(), k.stat("failed")},
		raw, payloadSum(raw), c.cfg.MaxAttempts, rec).Int()
	if err != nil {
		return outcomeGone, err
	}
	out := outcome(n)
	if id := looseID(raw); id != "" {
		state := StateQueued
		if out == outcomePoisoned {
			state = StateErrored
		}
		if out != outcomeGone {
			fields := []any{"state", string(state)}
			if out == outcomePoisoned {
				fields = append(fields, "error", (&PoisonError{c.cfg.MaxAttempts, worker}).Error(),
					"finished_at", time.Now().UTC().Format(time.RFC3339Nano))
			}
			if err := c.rdb.HSet(ctx, k.job(id), fields...).Err(); err != nil {
				return out, err
			}
			if out == outcomePoisoned {
				_ = c.rdb.Publish(ctx, k.logChannel(id), endMarker+string(state)).Err()
			}
		}
	}
	return out, nil
}

// RecoverReport says what one Recover pass did.
type RecoverReport struct {
	// Workers are the dead worker ids whose lists were handled.
	Workers []string
	// Requeued and Poisoned count payloads.
	Requeued, Poisoned int
}

// Recover hands back the jobs of dead workers of this host. A worker is
// dead when it is not one of this Client's registered slots and either its
// pid is no longer running, or its pid is this process's (a previous
// incarnation), or its heartbeat is older than HeartbeatExpiry. Dead
// workers are also removed from Resque's registry.
func (c *Client) Recover(ctx context.Context) (RecoverReport, error) {
	var rep RecoverReport
	k := c.keys
	ids, err := c.rdb.SMembers(ctx, k.slots()).Result()
	if err != nil {
		return rep, fmt.Errorf("recover: %w", err)
	}
	beats, err := c.rdb.HGetAll(ctx, k.heartbeat()).Result()
	if err != nil {
		return rep, fmt.Errorf("recover: heartbeats: %w", err)
	}
	now, err := c.rdb.Time(ctx).Result()
	if err != nil {
		return rep, fmt.Errorf("recover: server time: %w", err)
	}
	for _, id := range ids {
		w, ok := parseWorkerID(id)
		if !ok || w.host != c.cfg.Host || c.reg.has(id) {
			continue
		}
		if w.pid != c.cfg.PID && pidAlive(w.pid) && !expired(beats[id], now, c.cfg.HeartbeatExpiry) {
			continue
		}
		if err := c.recoverWorker(ctx, id, w, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func expired(beat string, now time.Time, expiry time.Duration) bool {
	t, err := time.Parse(time.RFC3339, beat)
	if err != nil {
		return true // no heartbeat, or not one we can read
	}
	return now.Sub(t) > expiry
}

// pidAlive reports whether a process with this pid exists on this host.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (c *Client) recoverWorker(ctx context.Context, id string, w workerID, rep *RecoverReport) error {
	k := c.keys
	for _, q := range w.queues {
		items, err := c.rdb.LRange(ctx, k.processing(id, q), 0, -1).Result()
		if err != nil {
			return fmt.Errorf("recover %s: %w", id, err)
		}
		// Push back newest first so that the oldest ends up at the head.
		for i := len(items) - 1; i >= 0; i-- {
			out, err := c.requeueOne(ctx, id, q, []byte(items[i]))
			if err != nil {
				return fmt.Errorf("recover %s: %w", id, err)
			}
			switch out {
			case outcomeRequeued:
				rep.Requeued++
			case outcomePoisoned:
				rep.Poisoned++
			}
			c.log.Info("orphan_recovered", "worker", id, "queue", q, "job_id", looseID([]byte(items[i])),
				"outcome", out.String())
		}
	}
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SRem(ctx, k.workers(), id)
		p.Del(ctx, k.worker(id), k.started(id), k.processedBy(id), k.failedBy(id))
		p.HDel(ctx, k.heartbeat(), id)
		p.SRem(ctx, k.slots(), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("recover %s: unregister: %w", id, err)
	}
	rep.Workers = append(rep.Workers, id)
	return nil
}
