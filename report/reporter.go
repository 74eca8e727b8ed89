// This file is the side of a Reporter the daemon calls: the event methods.
// They are the hot path of reporting and only ever take the reporter's lock
// for an append: no I/O, no waiting on the receiver. Log output is collected
// per job run here and cut into batches (see batch.go).

package report

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/fleet-agent/fleet/queue"
)

// Start describes where a job started.
type Start struct {
	Worker string // the Resque worker id of the slot
	Host   string // the build host
	VM     string // the VM the job runs on
	Image  string // the golden image (hash) the VM was cloned from
}

// Finish describes how a job ended.
type Finish struct {
	// Result is the job's terminal state: passed, failed, errored or canceled.
	Result queue.State
	// ExitCode is the script's exit status.
	ExitCode int
	// Err explains an errored or canceled job; nil otherwise.
	Err error
	// Attempt counts starts of the job, 1 for the first.
	Attempt int
	// Queued is how long the job waited in the queue, if known.
	Queued time.Duration
	// Run is how long the script ran.
	Run time.Duration
	// Total is received to finished. Zero means: measured by the reporter
	// from its Received event.
	Total time.Duration
}

// Stats counts a reporter's events since New.
type Stats struct {
	Queued    int    // events waiting now
	Delivered uint64 // events a receiver accepted
	Retried   uint64 // failed attempts that were retried
	Dropped   uint64 // events dropped because the queue was full (log batches first)
	// DroppedEnds counts the dropped finished and requeued events: the queue
	// held nothing else (see eventQueue.victim).
	DroppedEnds uint64
	Rejected    uint64 // events the receiver refused with a 4xx, not retried
	Ignored     uint64 // events reported after Close
}

// Reporter delivers job events to one HTTP receiver. Its event methods are
// safe for concurrent use and never block on the network.
type Reporter struct {
	cfg    Config
	target *url.URL
	key    []byte
	log    *slog.Logger

	// now and newRunID are replaced by tests that need fixed bodies.
	now      func() time.Time
	newRunID func() string

	wake chan struct{} // cap 1: an event may be ready for a sender
	kick chan struct{} // cap 1: a log batch got a new deadline
	stop chan struct{} // closed by Close: Run must return
	done chan struct{} // closed when Run returns

	mu sync.Mutex // guards everything below
	q  eventQueue
	// runs holds the current run of each job id, from its first event to
	// its finished or requeued event.
	runs     map[string]*run
	inflight int
	closed   bool
	running  bool
	// drained, while Close waits, is closed once nothing is queued or in
	// flight.
	drained     chan struct{}
	stats       Stats
	lastDropLog time.Time
}

// run is one pass of a job through this agent, from received to finished
// or requeued. Its id and sequence numbers let receivers order events and
// discard duplicates.
type run struct {
	id       string
	seq      int64
	received time.Time
	// offset is the log bytes already cut into batches, dropped or not.
	offset int64
	// pending is log output not yet in a batch; due is when it must go,
	// zero while pending is empty.
	pending []byte
	due     time.Time
}

// New returns a Reporter for cfg. Nothing is sent until Run is called.
func New(cfg Config, log *slog.Logger) (*Reporter, error) {
	cfg = cfg.withDefaults()
	u, err := cfg.parseURL()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reporter{
		cfg:      cfg,
		target:   u,
		key:      cfg.signingKey(u),
		log:      log.With("reporter", cfg.Name),
		now:      time.Now,
		newRunID: randomRunID,
		wake:     make(chan struct{}, 1),
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		q:        newEventQueue(cfg.QueueEvents, cfg.QueueBytes),
		runs:     map[string]*run{},
	}
	if r.key == nil {
		r.log.Warn("report_unsigned", "config", cfg)
	}
	return r, nil
}

func randomRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// String names the reporter and its receiver without credentials.
func (r *Reporter) String() string { return r.cfg.String() }

// Stats returns the reporter's counters.
func (r *Reporter) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Queued = r.q.len() + r.inflight
	return s
}

// Received reports that a worker took job from the queue. It starts a new
// run: sequence numbers and log offsets begin again.
func (r *Reporter) Received(job *queue.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ignore() {
		return
	}
	if old := r.runs[job.ID]; old != nil {
		r.sealAll(job.ID, old)
	}
	now := r.now()
	ru := &run{id: r.newRunID(), received: now}
	r.runs[job.ID] = ru
	b := receivedBody{Queue: job.Queue, Attempt: job.Attempt, Repository: job.Repository.Slug,
		Commit: job.Commit, Branch: job.Branch}
	r.pushEvent(job.ID, ru, TypeReceived, func(h header) any { b.header = h; return b })
}

// Started reports that jobID's script is starting on a VM.
func (r *Reporter) Started(jobID string, s Start) {
	b := startedBody{Worker: s.Worker, Host: s.Host, VM: s.VM, Image: s.Image}
	r.lifecycle(jobID, TypeStarted, false, func(h header) any { b.header = h; return b })
}

// Canceled reports that a cancel request for jobID was acted on. Finished
// with result canceled follows once the job has stopped.
func (r *Reporter) Canceled(jobID, reason string) {
	b := reasonBody{Reason: reason}
	r.lifecycle(jobID, TypeCanceled, false, func(h header) any { b.header = h; return b })
}

// Requeued reports that jobID went back to its queue without a result (the
// VM went bad, or the agent shut down). It ends the run.
func (r *Reporter) Requeued(jobID, reason string) {
	b := reasonBody{Reason: reason}
	r.lifecycle(jobID, TypeRequeued, true, func(h header) any { b.header = h; return b })
}

// Finished reports how jobID ended. It ends the run and is never dropped.
func (r *Reporter) Finished(jobID string, f Finish) {
	b := finishedBody{Result: string(f.Result), ExitCode: f.ExitCode, Attempt: f.Attempt}
	if f.Err != nil {
		b.Error = f.Err.Error()
	}
	b.Durations = durationsBody{QueuedMS: f.Queued.Milliseconds(), RunMS: f.Run.Milliseconds(),
		TotalMS: f.Total.Milliseconds()}
	r.lifecycle(jobID, TypeFinished, true, func(h header) any { b.header = h; return b },
		func(ru *run) {
			b.LogBytes = ru.offset
			if f.Total == 0 && !ru.received.IsZero() {
				b.Durations.TotalMS = r.now().Sub(ru.received).Milliseconds()
			}
		})
}

// lifecycle queues a non-log event after everything logged before it.
// prepare, if given, sees the run once its log is sealed.
func (r *Reporter) lifecycle(jobID, kind string, ends bool, body func(header) any, prepare ...func(*run)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ignore() {
		return
	}
	ru := r.runFor(jobID)
	r.sealAll(jobID, ru)
	for _, p := range prepare {
		p(ru)
	}
	r.pushEvent(jobID, ru, kind, body)
	if ends {
		delete(r.runs, jobID)
	}
}

// ignore counts an event reported after Close. Callers hold r.mu.
func (r *Reporter) ignore() bool {
	if r.closed {
		r.stats.Ignored++
	}
	return r.closed
}

// runFor returns jobID's run, starting one for a job whose Received was
// not reported. Callers hold r.mu.
func (r *Reporter) runFor(jobID string) *run {
	ru := r.runs[jobID]
	if ru == nil {
		ru = &run{id: r.newRunID()}
		r.runs[jobID] = ru
	}
	return ru
}

// pushEvent numbers and queues one event. Callers hold r.mu.
func (r *Reporter) pushEvent(jobID string, ru *run, kind string, body func(header) any) {
	ru.seq++
	r.push(&item{kind: kind, jobID: jobID, runID: ru.id, seq: ru.seq, at: r.now(), body: body})
}

// push queues it, accounts for drops and wakes a sender. Callers hold r.mu.
func (r *Reporter) push(it *item) {
	r.countDrops(it.jobID, r.q.push(it))
	signal(r.wake)
}

// countDrops counts the events the queue dropped (their kinds), tells
// Config.OnDrop and logs at most every 10s. Callers hold r.mu.
func (r *Reporter) countDrops(jobID string, kinds []string) {
	if len(kinds) == 0 {
		return
	}
	r.stats.Dropped += uint64(len(kinds))
	for _, k := range kinds {
		if terminal(k) {
			r.stats.DroppedEnds++
		}
		if r.cfg.OnDrop != nil {
			r.cfg.OnDrop(k)
		}
	}
	if now := r.now(); now.Sub(r.lastDropLog) >= 10*time.Second {
		r.lastDropLog = now
		r.log.Warn("report_queue_full", "job_id", jobID, "dropped_total", r.stats.Dropped,
			"dropped_ends_total", r.stats.DroppedEnds, "queued", r.q.len())
	}
}

// signal makes a non-blocking send on a capacity-1 channel.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// errorf builds an error that names the reporter but never its URL.
func (r *Reporter) errorf(format string, args ...any) error {
	return fmt.Errorf("report %s: "+format, append([]any{r.cfg.Name}, args...)...)
}
