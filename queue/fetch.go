// This file is reliable fetch: a payload moves atomically from the head of
// queue:<name> into the slot's processing list, queues tried in order. The
// move itself is the host fetcher's (hostfetch.go): Slot.Fetch waits for it,
// then records the job (attempts, fence, working-on record).

package queue

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrDraining is returned by Fetch once the slot has been told to drain.
var ErrDraining = errors.New("queue: slot is draining")

// ErrBusy is returned by Fetch while the slot still holds a job.
var ErrBusy = errors.New("queue: slot already holds a job")

// Fetch blocks until a job is available on one of the slot's queues, the
// slot is drained (ErrDraining), or ctx ends (ctx.Err()). A payload that
// cannot be parsed is moved to Resque's failed list with the reason, and
// Fetch goes on waiting. While the host is paused Fetch waits. While Redis
// is unreachable Fetch waits too, retrying with a bounded, jittered
// backoff. A payload that reached the slot's processing list without the
// slot learning of it (the connection broke in between) is taken up first,
// so it is neither lost nor left behind.
func (s *Slot) Fetch(ctx context.Context) (*Job, error) {
	s.mu.Lock()
	busy := s.current != nil
	s.mu.Unlock()
	if busy {
		return nil, ErrBusy
	}
	tries := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.isDraining() {
			return nil, ErrDraining
		}
		raw, qi, err := s.take(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !Transient(err) {
				return nil, err
			}
			if err := waitRetry(ctx, &tries); err != nil {
				return nil, err
			}
			continue
		}
		tries = 0
		if raw == nil {
			continue
		}
		q := s.queues[qi]
		if err := ctx.Err(); err != nil {
			// Canceled while the fetcher moved a job here: hand it back
			// untouched, so that another slot can run it now. Should that
			// fail, the payload stays in the processing list and this
			// slot's next Fetch (or recovery) takes it up.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = s.unmove(uctx, q, raw)
			cancel()
			return nil, err
		}
		if s.isDraining() {
			// Drain arrived while blocked: hand the job back untouched.
			if err := s.unmove(ctx, q, raw); err != nil {
				return nil, err // still in the processing list: the next Fetch takes it up
			}
			return nil, ErrDraining
		}
		job, err := s.begin(ctx, q, raw)
		if err != nil {
			var perr *PayloadError
			if errors.As(err, &perr) || errors.Is(err, errTakenOver) {
				continue
			}
			// The payload stays in the processing list: the next try takes it up.
			if Transient(err) && ctx.Err() == nil {
				if err := waitRetry(ctx, &tries); err != nil {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		return job, nil
	}
}

// take waits with the host fetcher for the next payload and returns it with
// the index of its queue, or nil when the slot should look at ctx and its
// drain flag again.
func (s *Slot) take(ctx context.Context) (raw []byte, qi int, err error) {
	s.mu.Lock()
	leave := s.drained
	s.mu.Unlock()
	d := s.c.fetcher.wait(ctx, s, leave)
	switch {
	case errors.Is(d.err, errLeft):
		return nil, 0, nil
	case d.err != nil:
		return nil, 0, fmt.Errorf("fetch %s: %w", s.id, d.err)
	}
	if d.again {
		s.c.log.Info("job_taken_up_again", "worker", s.id, "queue", s.queues[d.qi], "job_id", looseID(d.raw),
			"reason", "it was in this slot's processing list without the slot holding it (a fetch cut off by a broken connection)")
	}
	return d.raw, d.qi, nil
}

// unmove puts a payload taken from q back at the head of q.
func (s *Slot) unmove(ctx context.Context, q string, raw []byte) error {
	k := s.c.keys
	_, err := s.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LRem(ctx, k.processing(s.id, q), 1, raw)
		p.LPush(ctx, k.queue(q), raw)
		p.Publish(ctx, k.notify(q), q)
		return nil
	})
	if err != nil {
		return fmt.Errorf("put back job on %s: %w", q, err)
	}
	return nil
}

// begin parses a fetched payload and records that the slot works on it.
// An invalid payload is failed and its *PayloadError returned.
func (s *Slot) begin(ctx context.Context, q string, raw []byte) (*Job, error) {
	k := s.c.keys
	sum := payloadSum(raw)
	args, perr := Parse(raw)
	if perr != nil {
		recovered, err := s.c.rdb.HGet(ctx, k.attempts(), sum).Int()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("fetch %s: attempts: %w", s.id, err)
		}
		job := &Job{Args: args, Queue: q, Raw: raw, Attempt: recovered + 1}
		job.ID = looseID(raw)
		s.c.log.Warn("invalid_payload", "worker", s.id, "queue", q, "err", perr)
		if err := s.finish(ctx, job, Result{State: StateErrored, Err: perr}); err != nil {
			return nil, err
		}
		return nil, perr
	}
	record, err := marshalCompact(struct {
		Queue   string          `json:"queue"`
		RunAt   string          `json:"run_at"`
		Payload json.RawMessage `json:"payload"`
		Worker  string          `json:"worker"`
	}{q, time.Now().UTC().Format(time.RFC3339), raw, s.name})
	if err != nil {
		return nil, fmt.Errorf("fetch %s: working-on record: %w", s.id, err)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	res, err := beginScript.Run(ctx, s.c.rdb,
		[]string{k.processing(s.id, q), k.job(args.ID), k.fence(), k.worker(s.id), k.log(args.ID), k.logSeq(args.ID), k.attempts()},
		raw, record, args.ID, q, s.id, s.c.cfg.Host, now, sum).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("fetch %s: start job %s: %w", s.id, args.ID, err)
	}
	if res[0] == 0 {
		// This host was frozen or cut off between the server's move and now, and a reaper
		// handed the job back meanwhile: it runs (or ran) elsewhere.
		s.c.log.Warn("stale_attempt_discarded", "worker", s.id, "job_id", args.ID,
			"reason", "the job left this slot's processing list before it started here: another host took it over")
		return nil, errTakenOver
	}
	job := &Job{Args: args, Queue: q, Raw: raw, Fence: res[0], Attempt: int(res[1])}
	s.c.fences.set(args.ID, job.Fence)
	s.mu.Lock()
	s.current = job
	s.mu.Unlock()
	s.c.log.Info("job_fetched", "worker", s.id, "job_id", args.ID, "queue", q, "attempt", job.Attempt)
	return job, nil
}

// errTakenOver is begin's answer for a payload a reaper took from the slot's
// processing list before the job started.
var errTakenOver = errors.New("queue: job taken over before it started")

// beginScript starts an attempt, only while the payload is still in the
// slot's processing list (a reaper may have handed it back while this host
// was frozen between the move and now): it takes a fencing token and writes
// the working-on record and the job record. KEYS: processing, job, fence,
// worker, log, logseq, attempts. ARGV: payload, working-on record, job id,
// queue, worker id, host, started_at, payload sha1. Returns {0, 0} when the
// payload is gone, else {fence, attempt}.
var beginScript = redis.NewScript(`
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return {0, 0} end
local attempt = tonumber(redis.call('HGET', KEYS[7], ARGV[8]) or '0') + 1
local f = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[2], 'exit_code', 'finished_at', 'error')
redis.call('HSET', KEYS[2], 'id', ARGV[3], 'state', 'started', 'queue', ARGV[4], 'worker', ARGV[5],
  'host', ARGV[6], 'started_at', ARGV[7], 'attempt', attempt, 'fence', f)
redis.call('PERSIST', KEYS[2])
redis.call('PERSIST', KEYS[5])
redis.call('PERSIST', KEYS[6])
return {f, attempt}
`)

// payloadSum names a payload in the attempts hash.
func payloadSum(raw []byte) string {
	h := sha1.Sum(raw)
	return hex.EncodeToString(h[:])
}

// looseID digs args[0].id out of a payload that failed validation, so the
// job's record can still say why it errored. It returns "" when there is
// no usable id.
func looseID(raw []byte) string {
	var p struct {
		Args []struct {
			ID string `json:"id"`
		} `json:"args"`
	}
	if json.Unmarshal(raw, &p) != nil || len(p.Args) == 0 || !idRe.MatchString(p.Args[0].ID) {
		return ""
	}
	return p.Args[0].ID
}
