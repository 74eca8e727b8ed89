// One worker per converged worker VM: a Resque slot that fetches only while its gate is open
// (host not draining or stopping, VM not handed over), runs each job in the VM's sandbox and
// reports every job end to the daemon so a pass can follow. The hot loop is worker.run.
package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/metrics"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/report"
	"github.com/fleet-agent/fleet/sandbox"
)

// fetchRetry is how long a worker waits after a failed fetch (Redis down) before trying again.
const fetchRetry = 2 * time.Second

// worker serves one VM. Its fields after mu are guarded by mu; the rest are set at creation.
type worker struct {
	vm     reconcile.VM
	slot   Slot
	runner Runner
	log    *slog.Logger
	met    *metrics.Metrics
	// report is the slot the runner records through; it also reports each job's start.
	report *reportSlot
	host   string // the build host's name, for reports
	// events is called once the worker is ready, after every job and when the worker exits:
	// the daemon requests a pass.
	events func(w *worker)
	now    func() time.Time
	// submitted says when a job was submitted (zero when unknown).
	submitted func(ctx context.Context, id string) time.Time
	// dirty is the file that exists while a job may have changed the VM and no rollback has
	// finished since; a worker that finds it at start resets the VM first (a killed agent).
	dirty string
	// quitCtx ends when the worker is told to stop; it bounds the work before the first job
	// (registering, resetting), never a job.
	quitCtx    context.Context
	quitCancel context.CancelFunc

	mu        sync.Mutex
	open      bool          // may fetch
	ready     bool          // registered and its VM reset when needed: fetching from now on
	gate      chan struct{} // closed and replaced when open changes
	quit      bool          // exit once idle
	job       *control.JobStatus
	last      *control.JobResult
	cancelJob context.CancelFunc // set while a job runs
	restarts  bool               // a restart (rollback to ready) is pending
	broken    error
	done      chan struct{} // closed when run returns
}

// state is a copy of what status shows about a worker.
type workerState struct {
	id      string
	open    bool
	job     *control.JobStatus
	last    *control.JobResult
	broken  error
	exited  bool
	restart bool
}

func (w *worker) snapshot() workerState {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := workerState{id: w.slot.ID(), open: w.open && w.ready, job: w.job, last: w.last, broken: w.broken, restart: w.restarts}
	select {
	case <-w.done:
		st.exited = true
	default:
	}
	return st
}

// serves reports whether the worker exists, is ready and is not broken: it serves jobs
// unless its gate is closed.
func (w *worker) serves() bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready && w.broken == nil
}

// setOpen opens or closes the gate. Closing drains the slot: a Fetch in progress hands back
// anything it takes and returns ErrDraining.
func (w *worker) setOpen(open bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.quit || w.broken != nil {
		open = false
	}
	if open == w.open {
		return
	}
	w.open = open
	if open {
		w.slot.Undrain()
	} else {
		w.slot.Drain()
	}
	close(w.gate)
	w.gate = make(chan struct{})
}

// stop makes the worker exit once it holds no job.
func (w *worker) stop() {
	w.quitCancel()
	w.mu.Lock()
	w.quit = true
	w.mu.Unlock()
	w.setOpen(false)
	w.mu.Lock()
	close(w.gate)
	w.gate = make(chan struct{})
	w.mu.Unlock()
}

// cancel cancels the running job, if any; the sandbox requeues it.
func (w *worker) cancel() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancelJob != nil {
		w.cancelJob()
		return true
	}
	return false
}

// idle reports whether the gate is closed, no job runs and no rollback is pending: the VM can
// be handed over. The slot alone is not enough: it lets go of a job when the sandbox records
// the result, which is before the sandbox rolls the VM back, and reconcile must not touch a VM
// that is still being restored.
func (w *worker) idle() bool {
	w.mu.Lock()
	busy := w.open || w.job != nil || w.restarts
	w.mu.Unlock()
	if busy {
		return false
	}
	select {
	case <-w.slot.Drain():
		return true
	default:
		return false
	}
}

// run is the worker's life: register, reset the VM, then fetch and run jobs while the gate is
// open, until told to quit (or ctx ends). jobCtx bounds each job; ending it cancels the job.
func (w *worker) run(ctx context.Context) {
	defer func() {
		w.quitCancel()
		close(w.done)
		w.events(w) // after done: the pass this requests must see the worker gone
	}()
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := w.slot.Unregister(uctx); err != nil {
			w.log.Warn("worker_unregister_failed", "err", err)
		}
		w.log.Info("worker_stopped")
	}()
	if err := w.slot.Register(w.quitCtx); err != nil {
		w.log.Error("worker_register_failed", "err", err)
		return
	}
	if _, err := os.Stat(w.dirty); err == nil {
		w.log.Info("vm_reset", "why", "a job ran on it when the last agent stopped")
		if err := w.runner.Reset(w.quitCtx); err != nil {
			if w.quitCtx.Err() != nil {
				return
			}
			w.markBroken(err)
			return
		}
		os.Remove(w.dirty)
	}
	w.mu.Lock()
	w.ready = true
	w.mu.Unlock()
	w.log.Info("worker_started", "worker", w.slot.ID())
	w.events(w) // a rollout waiting for this slot to serve may go on
	for {
		w.mu.Lock()
		open, quit, gate, restart := w.open, w.quit, w.gate, w.restarts
		w.mu.Unlock()
		if quit || ctx.Err() != nil {
			return
		}
		if restart {
			if !w.rollback(ctx) {
				return
			}
			continue
		}
		if !open {
			select {
			case <-ctx.Done():
				return
			case <-gate:
			}
			continue
		}
		job, err := w.slot.Fetch(ctx)
		switch {
		case errors.Is(err, queue.ErrDraining):
			continue
		case ctx.Err() != nil:
			return
		case err != nil:
			w.log.Warn("fetch_failed", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(fetchRetry):
			}
			continue
		}
		if broken := w.runJob(ctx, job); broken {
			return
		}
	}
}

// runJob runs one fetched job and records how it went. It reports whether the VM broke.
func (w *worker) runJob(ctx context.Context, job *queue.Job) (broken bool) {
	w.report.rep.Received(job)
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := w.now()
	w.mu.Lock()
	w.job = &control.JobStatus{ID: job.ID, Queue: job.Queue, Attempt: job.Attempt, Since: start}
	w.cancelJob = cancel
	w.mu.Unlock()
	if err := os.WriteFile(w.dirty, []byte(job.ID+"\n"), 0o600); err != nil {
		w.log.Warn("dirty_mark_failed", "err", err)
	}
	var waited time.Duration
	if at := w.submitted(ctx, job.ID); !at.IsZero() {
		waited = start.Sub(at)
	}
	w.met.JobStarted(w.vm.Pool, waited)
	w.events(w)
	log := w.log.With("job_id", job.ID, "attempt", job.Attempt)
	log.Info("job_started", "queue", job.Queue)

	w.report.begin(job, waited, report.Start{Worker: w.slot.ID(), Host: w.host, VM: w.vm.Name, Image: w.vm.Image})
	out, err := w.runner.Run(jctx, job)
	took := w.now().Sub(start)
	res := &control.JobResult{ID: job.ID, State: string(out.Result.State), ExitCode: out.Result.ExitCode, At: w.now(), Took: control.Duration(took)}
	if out.Requeued {
		res.State = "requeued"
	}
	w.met.JobFinished(w.vm.Pool, res.State, took)
	w.mu.Lock()
	w.job, w.last, w.cancelJob = nil, res, nil
	w.mu.Unlock()
	log.Info("job_finished", "state", res.State, "exit_code", res.ExitCode, "took", took, "err", out.Err)
	if err != nil {
		if errors.Is(err, sandbox.ErrBroken) {
			w.markBroken(err)
			return true
		}
		log.Error("job_not_recorded", "err", err)
	}
	os.Remove(w.dirty) // the sandbox rolled the VM back
	w.events(w)
	return false
}

// markBroken takes the VM out of service for good; the daemon has reconcile repair it.
func (w *worker) markBroken(err error) {
	w.log.Error("vm_broken", "err", err)
	w.mu.Lock()
	w.broken = err
	w.mu.Unlock()
	w.setOpen(false)
}

// restart asks the worker to roll its VM back to the ready snapshot once no job runs on it;
// with force the running job is canceled (the sandbox requeues it) first. A fetch waiting for
// a job is interrupted, so an idle worker rolls back at once. It reports whether a job was
// canceled.
func (w *worker) restart(force bool) (canceled bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.restarts = true
	if w.cancelJob != nil {
		if force {
			w.cancelJob()
			return true
		}
		return false
	}
	if w.open {
		w.slot.Drain() // a Fetch in progress hands back what it takes and returns
	}
	close(w.gate)
	w.gate = make(chan struct{})
	return false
}

// rollback carries out a pending restart. It reports false when the worker must exit: the VM
// broke, or the worker was told to stop.
func (w *worker) rollback(ctx context.Context) bool {
	w.log.Info("vm_restart_started")
	start := w.now()
	err := w.runner.Reset(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		w.markBroken(err)
		return false
	}
	os.Remove(w.dirty)
	w.log.Info("vm_restarted", "took", w.now().Sub(start))
	w.mu.Lock()
	w.restarts = false
	if w.open {
		w.slot.Undrain()
	}
	w.mu.Unlock()
	w.events(w)
	return true
}
