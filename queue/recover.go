// This file recovers jobs whose worker died: processing lists of this host
// whose owner is gone go back to the head of their queue, counting an
// attempt beside the payload; a payload that has been started MaxAttempts
// times goes to failed as a poison job instead of looping.

package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// requeueScript moves one payload from a processing list back to the head
// of its queue, or to failed once it has used up its attempts. The LREM
// check makes any number of concurrent recoverers safe: only one moves the
// payload. Whoever moves it also gives the job a new fencing token, so the
// attempt that lost it can no longer write its log or result, and, for a
// recovery of a dead worker, appends a record to fleet:recovered.
// KEYS: processing, queue, attempts, failed, stat:failed, job, fence, recovered.
// ARGV: payload, sha1, max attempts, failure record, job id ("" = none),
// recovered record fields as JSON ("" = not a recovery), recovered cap.
// Returns {0} (already gone), {1, attempt} (requeued) or {2, attempt} (poisoned).
var requeueScript = redis.NewScript(`
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return {0, 0} end
local n = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[6], 'fence', redis.call('INCR', KEYS[7]))
end
if ARGV[6] ~= '' then
  local rec = cjson.decode(ARGV[6])
  rec['attempt'] = n + 1
  redis.call('LPUSH', KEYS[8], cjson.encode(rec))
  redis.call('LTRIM', KEYS[8], 0, tonumber(ARGV[7]) - 1)
end
if n >= tonumber(ARGV[3]) then
  redis.call('HDEL', KEYS[3], ARGV[2])
  redis.call('RPUSH', KEYS[4], ARGV[4])
  redis.call('INCR', KEYS[5])
  return {2, n}
end
redis.call('LPUSH', KEYS[2], ARGV[1])
return {1, n + 1}
`)

// Recovered is one record of <ns>:fleet:recovered: a job a live host took
// back from a dead worker.
type Recovered struct {
	JobID      string `json:"job_id"`
	Queue      string `json:"queue"`
	DeadHost   string `json:"dead_host"`
	DeadWorker string `json:"dead_worker"`
	// Attempt is the attempt the job starts next (or the one it would
	// have started, for a poisoned job).
	Attempt int    `json:"attempt"`
	At      string `json:"at"` // RFC 3339, UTC
}

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
	out, _, err := c.requeue(ctx, worker, queue, raw, false)
	return out, err
}

// requeue is requeueOne, and for a dead worker's job (recovery) also writes
// the fleet:recovered record; it returns the job's next attempt number.
func (c *Client) requeue(ctx context.Context, worker, queue string, raw []byte, recovery bool) (outcome, int, error) {
	k := c.keys
	now := time.Now()
	rec, err := failureRecord(raw, &PoisonError{Attempts: c.cfg.MaxAttempts, Worker: worker},
		worker, queue, now)
	if err != nil {
		return outcomeGone, 0, err
	}
	id := looseID(raw)
	var recJSON []byte
	if recovery {
		w, _ := parseWorkerID(worker)
		recJSON, err = marshalCompact(Recovered{JobID: id, Queue: queue, DeadHost: w.host, DeadWorker: worker,
			At: now.UTC().Format(time.RFC3339)})
		if err != nil {
			return outcomeGone, 0, err
		}
	}
	res, err := requeueScript.Run(ctx, c.rdb,
		[]string{k.processing(worker, queue), k.queue(queue), k.attempts(), k.failed(), k.stat("failed"),
			k.job(id), k.fence(), k.recovered()},
		raw, payloadSum(raw), c.cfg.MaxAttempts, rec, id, recJSON, recoveredCap).Int64Slice()
	if err != nil {
		return outcomeGone, 0, err
	}
	out, attempt := outcome(res[0]), int(res[1])
	if id != "" {
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
				return out, attempt, err
			}
			if out == outcomePoisoned {
				_ = c.rdb.Publish(ctx, k.logChannel(id), endMarker+string(state)).Err()
			}
		}
	}
	return out, attempt, nil
}

// RecoverReport says what one Recover pass did.
type RecoverReport struct {
	// Workers are the dead worker ids whose lists were handled.
	Workers []string
	// Requeued and Poisoned count payloads.
	Requeued, Poisoned int
}

// Recover hands back the jobs of dead workers of any host. A worker of
// this host is dead when it is not one of this Client's registered slots
// and either its pid is no longer running, or its pid is this process's (a
// previous incarnation), or its heartbeat is older than HeartbeatExpiry. A
// worker of another host is dead when that host's lease has ended (Redis
// server time), or, for a host that keeps no lease (an older agent), when
// its heartbeat is older than HeartbeatExpiry. Dead workers are also
// removed from Resque's registry. Any number of hosts may run Recover at
// once: each payload is moved by exactly one of them. Workers of other
// hosts are left alone for one HostLease after this Client last saw Redis
// unreachable, and workers whose result waits in the outbox are left
// alone until it is delivered.
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
	leases, now, err := c.Leases(ctx)
	if err != nil {
		return rep, fmt.Errorf("recover: %w", err)
	}
	until := make(map[string]time.Time, len(leases))
	for _, l := range leases {
		until[l.Host] = l.Until
	}
	// Right after an outage every lease may have run out while no host
	// could renew it: other hosts get one lease to heartbeat again first.
	settled := c.health.sinceFailure() >= c.cfg.HostLease
	for _, id := range ids {
		w, ok := parseWorkerID(id)
		if !ok || c.reg.has(id) || c.outbox.holds(id, nil) {
			continue
		}
		if w.host != c.cfg.Host && !settled {
			continue
		}
		if !c.workerDead(w, beats[id], until, now) {
			continue
		}
		if err := c.recoverWorker(ctx, id, w, &rep); err != nil {
			return rep, err
		}
	}
	// Forget leases that ended long ago; recent ones stay for `agent status --fleet`.
	old := strconv.FormatInt(unixMS(now.Add(-leaseKeep)), 10)
	if err := c.rdb.ZRemRangeByScore(ctx, k.leases(), "-inf", "("+old).Err(); err != nil {
		return rep, fmt.Errorf("recover: prune leases: %w", err)
	}
	return rep, nil
}

// workerDead decides whether w's processing lists are orphaned.
func (c *Client) workerDead(w workerID, beat string, until map[string]time.Time, now time.Time) bool {
	if w.host == c.cfg.Host {
		return w.pid == c.cfg.PID || !pidAlive(w.pid) || expired(beat, now, c.cfg.HeartbeatExpiry)
	}
	if end, ok := until[w.host]; ok {
		return now.After(end)
	}
	return expired(beat, now, c.cfg.HeartbeatExpiry)
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
			out, attempt, err := c.requeue(ctx, id, q, []byte(items[i]), true)
			if err != nil {
				return fmt.Errorf("recover %s: %w", id, err)
			}
			switch out {
			case outcomeRequeued:
				rep.Requeued++
			case outcomePoisoned:
				rep.Poisoned++
			}
			if out == outcomeGone {
				continue // another host moved it first
			}
			c.cfg.OnRecovered(out == outcomePoisoned)
			c.log.Info("job_recovered", "job_id", looseID([]byte(items[i])), "dead_host", w.host,
				"dead_worker", id, "queue", q, "attempt", attempt, "outcome", out.String())
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
