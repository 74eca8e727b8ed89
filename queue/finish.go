// This file ends a job: the result record, Resque's counters and failure
// record, and the removal from the processing list, all in one MULTI/EXEC.
// It also holds requeue and drain, the other ways a slot lets go of a job.

package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// State is a job's state in fleet:job:<id>.
type State string

// Job states. Passed, Failed, Errored and Canceled are terminal.
const (
	StateQueued   State = "queued"
	StateStarted  State = "started"
	StatePassed   State = "passed"   // the script exited 0
	StateFailed   State = "failed"   // the script exited non-zero: the build's verdict
	StateErrored  State = "errored"  // the job could not be run; it goes to Resque's failed list
	StateCanceled State = "canceled" // someone canceled it
)

// Terminal reports whether no further change follows s.
func (s State) Terminal() bool {
	switch s {
	case StatePassed, StateFailed, StateErrored, StateCanceled:
		return true
	}
	return false
}

// Result is how a job ended.
type Result struct {
	// State is one of the terminal states.
	State State
	// ExitCode is the script's exit status (passed/failed).
	ExitCode int
	// Err explains an errored or canceled job. For errored jobs it becomes
	// the Resque failure's "error"; if it has an Exception() string method
	// that names the failure's "exception".
	Err error
}

// resqueTimeLayout is Ruby's "%Y/%m/%d %H:%M:%S %Z", the failed_at format.
const resqueTimeLayout = "2006/01/02 15:04:05 MST"

// Finish records the job's result and releases it. An errored result is
// also pushed to Resque's failed list, so resque-web and node-resque can
// retry it.
func (s *Slot) Finish(ctx context.Context, job *Job, r Result) error {
	if !r.State.Terminal() {
		return fmt.Errorf("finish job %s: state %q is not terminal", job.ID, r.State)
	}
	s.mu.Lock()
	held := s.current == job
	s.mu.Unlock()
	if !held {
		return fmt.Errorf("finish job %s: not held by %s", job.ID, s.id)
	}
	return s.finish(ctx, job, r)
}

// Fail records job as errored with cause and pushes it to Resque's failed
// list. It is Finish with StateErrored.
func (s *Slot) Fail(ctx context.Context, job *Job, cause error) error {
	return s.Finish(ctx, job, Result{State: StateErrored, Err: cause})
}

func (s *Slot) finish(ctx context.Context, job *Job, r Result) error {
	p, err := s.resultRecord(job, r)
	if err != nil {
		return fmt.Errorf("finish job %s: %w", job.ID, err)
	}
	removed, err := s.c.writeResult(ctx, p)
	if errors.Is(err, ErrStale) {
		s.release(job)
		s.c.log.Warn("stale_attempt_discarded", "worker", s.id, "job_id", job.ID, "attempt", job.Attempt,
			"state", string(r.State), "reason", "another host took the job over; this result is not recorded")
		return fmt.Errorf("finish job %s: %w", job.ID, err)
	}
	if err != nil {
		if s.c.keep(p, err) {
			s.release(job)
			return nil
		}
		return fmt.Errorf("finish job %s: %w", job.ID, err)
	}
	s.release(job)
	if !removed {
		// Someone recovered the job while we ran it (our heartbeat expired):
		// it may run again elsewhere.
		s.c.log.Warn("job_not_in_processing_list", "worker", s.id, "job_id", job.ID)
	}
	s.c.log.Info("job_finished", "worker", s.id, "job_id", job.ID, "state", string(r.State),
		"exit_code", r.ExitCode)
	return nil
}

// resultRecord is everything writeResult needs to record r, so that it can
// wait in the outbox.
func (s *Slot) resultRecord(job *Job, r Result) (*pending, error) {
	p := &pending{Kind: pendingFinish, Worker: s.id, Host: s.c.cfg.Host, JobID: job.ID, Queue: job.Queue,
		Payload: job.Raw, Attempt: job.Attempt, Fence: job.Fence, State: r.State, ExitCode: r.ExitCode,
		FinishedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	if r.Err != nil {
		p.Error = r.Err.Error()
	}
	if r.State == StateErrored {
		var err error
		p.Failure, err = failureRecord(job.Raw, r.Err, s.id, job.Queue, time.Now())
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// writeResult records p's result in one fenced MULTI/EXEC: the job record,
// Resque's counters and failure record, the removal from the processing
// list. It reports whether the payload was still in the processing list.
// A result this attempt already recorded (an outbox entry delivered twice)
// is not recorded again.
func (c *Client) writeResult(ctx context.Context, p *pending) (removed bool, err error) {
	k := c.keys
	finished, perr := time.Parse(time.RFC3339Nano, p.FinishedAt)
	if perr != nil {
		finished = time.Now()
	}
	var lrem *redis.IntCmd
	write := func(t redis.Pipeliner) error {
		lrem = t.LRem(ctx, k.processing(p.Worker, p.Queue), 1, p.Payload)
		t.Del(ctx, k.worker(p.Worker))
		t.Incr(ctx, k.stat("processed"))
		t.Incr(ctx, k.processedBy(p.Worker))
		k.countDone(ctx, t, p.Queue, finished)
		if p.Failure != nil {
			t.RPush(ctx, k.failed(), p.Failure)
			t.Incr(ctx, k.stat("failed"))
			t.Incr(ctx, k.failedBy(p.Worker))
		}
		t.HDel(ctx, k.attempts(), payloadSum(p.Payload))
		if p.JobID != "" {
			t.HSet(ctx, k.job(p.JobID), "id", p.JobID, "state", string(p.State),
				"exit_code", strconv.Itoa(p.ExitCode), "error", p.Error, "result_fence", strconv.FormatInt(p.Fence, 10),
				"worker", p.Worker, "host", p.Host, "queue", p.Queue,
				"attempt", strconv.Itoa(p.Attempt), "finished_at", p.FinishedAt)
			for _, key := range []string{k.job(p.JobID), k.log(p.JobID), k.logSeq(p.JobID)} {
				t.Expire(ctx, key, c.cfg.Retention)
			}
			t.Publish(ctx, k.logChannel(p.JobID), endMarker+string(p.State))
		}
		return nil
	}
	err = c.fenced(ctx, p.job(), write)
	if errors.Is(err, errRecorded) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return lrem.Val() > 0, nil
}

// failureRecord builds a Resque failure in the exact shape Ruby Resque
// writes (failure/redis.rb), compact and without HTML escaping so that
// node-resque's removeFailed (LREM of JSON.stringify) matches it.
func failureRecord(raw []byte, cause error, worker, queue string, at time.Time) ([]byte, error) {
	payload := json.RawMessage(raw)
	if !json.Valid(raw) {
		// Resque stores the decoded payload; a payload that is not JSON is
		// kept as a string so the record stays valid JSON.
		b, _ := json.Marshal(string(raw))
		payload = b
	}
	exception, msg := "Fleet::JobError", "unknown error"
	if cause != nil {
		msg = cause.Error()
		var ex interface{ Exception() string }
		if errors.As(cause, &ex) {
			exception = ex.Exception()
		}
	}
	return marshalCompact(struct {
		FailedAt  string          `json:"failed_at"`
		Payload   json.RawMessage `json:"payload"`
		Exception string          `json:"exception"`
		Error     string          `json:"error"`
		Backtrace []string        `json:"backtrace"`
		Worker    string          `json:"worker"`
		Queue     string          `json:"queue"`
	}{at.UTC().Format(resqueTimeLayout), payload, exception, msg, []string{}, worker, queue})
}

// Requeue hands job back to the head of its queue, for a job the slot could
// not run (the VM went bad before the script started). It counts as an
// attempt: a job requeued MaxAttempts times goes to failed as a poison job.
// When a reaper already took the payload it returns an error wrapping
// ErrStale.
func (s *Slot) Requeue(ctx context.Context, job *Job) error {
	s.mu.Lock()
	held := s.current == job
	s.mu.Unlock()
	if !held {
		return fmt.Errorf("requeue job %s: not held by %s", job.ID, s.id)
	}
	out, err := s.c.requeueOne(ctx, s.id, job.Queue, job.Raw)
	if err != nil {
		p := &pending{Kind: pendingRequeue, Worker: s.id, Host: s.c.cfg.Host, JobID: job.ID, Queue: job.Queue,
			Payload: job.Raw, Attempt: job.Attempt, Fence: job.Fence}
		if s.c.keep(p, err) {
			s.release(job)
			return nil
		}
		return fmt.Errorf("requeue job %s: %w", job.ID, err)
	}
	s.release(job)
	if err := s.c.rdb.Del(ctx, s.c.keys.worker(s.id)).Err(); err != nil {
		// Only Resque's "working on" record is left behind; the next job replaces it.
		s.c.log.Warn("working_record_not_cleared", "worker", s.id, "err", err)
	}
	if out == outcomeGone {
		// A reaper took the payload while this attempt held it: the job
		// runs (or ran) elsewhere, so there is nothing to hand back.
		s.c.log.Warn("stale_attempt_discarded", "worker", s.id, "job_id", job.ID, "attempt", job.Attempt,
			"reason", "another host took the job over; not requeued")
		return fmt.Errorf("requeue job %s: %w", job.ID, ErrStale)
	}
	s.c.log.Info("job_requeued", "worker", s.id, "job_id", job.ID, "outcome", out.String())
	return nil
}

// putBackScript moves a held payload back to the head of its queue, only
// if it is still in the processing list (a reaper may have moved it).
// KEYS: processing, queue, worker, job. ARGV: payload, job id, queued state.
var putBackScript = redis.NewScript(`
redis.call('DEL', KEYS[3])
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[4], 'state', ARGV[3]) end
return 1
`)

// putBack returns a held job to the head of its queue without counting an
// attempt.
func (s *Slot) putBack(ctx context.Context, job *Job) error {
	k := s.c.keys
	moved, err := putBackScript.Run(ctx, s.c.rdb,
		[]string{k.processing(s.id, job.Queue), k.queue(job.Queue), k.worker(s.id), k.job(job.ID)},
		job.Raw, job.ID, string(StateQueued)).Int()
	if err != nil {
		return fmt.Errorf("put back job %s: %w", job.ID, err)
	}
	if moved == 0 {
		// A reaper already gave it back while this host was cut off.
		s.c.log.Warn("stale_attempt_discarded", "worker", s.id, "job_id", job.ID, "attempt", job.Attempt,
			"reason", "another host took the job over")
	}
	s.release(job)
	return nil
}

func (s *Slot) release(job *Job) {
	s.c.fences.drop(job.ID, job.Fence)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == job {
		s.current = nil
	}
	if s.draining && s.current == nil && s.idle != nil {
		select {
		case <-s.idle:
		default:
			close(s.idle)
		}
	}
}

// Current returns the job the slot holds, or nil.
func (s *Slot) Current() *Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// Drain stops the slot fetching: Fetch returns ErrDraining from now on. The
// returned channel is closed once the slot holds no job.
func (s *Slot) Drain() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.draining {
		s.draining = true
		close(s.drained)
		s.idle = make(chan struct{})
		if s.current == nil {
			close(s.idle)
		}
	}
	return s.idle
}

// Undrain lets the slot fetch again.
func (s *Slot) Undrain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		s.drained = make(chan struct{})
	}
	s.draining = false
	s.idle = nil
}

func (s *Slot) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}
