// Package daemon is `agent run`: the reconcile loop and the workers of one build host, wired
// to the control socket, the fleet.hcl watcher and the metrics endpoint.
//
// The loop is level-triggered. A pass is requested by a saved fleet.hcl, by a worker finishing
// or breaking, by Reload (SIGHUP), by the resync ticker or by a backoff expiring; requests fold
// into one pending pass through a capacity-1 channel. Each pass observes the host afresh, feeds
// the daemon's own knowledge (which VMs run a job, which broke, which are handed over) to
// reconcile.Diff as marks, hands over the VMs the plan wants to change, applies what may run
// now and starts a worker on every converged worker VM.
//
// Handover: a VM that a plan wants to destroy, repair or replace is cordoned (its worker stops
// fetching); once its worker holds no job the worker unregisters and the VM is taken: only then
// does an action on it run. Replacements are cordoned per pool within rollout.max_unavailable,
// counting every slot that is not serving, so at most that many workers of a pool are out of
// service at once.
//
// The package declares what it drives (Engine, Queue, Slot, Sandboxes, Runner) and agent/run.go
// adapts the real reconcile, queue and sandbox packages to them; tests use fakes.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/metrics"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/report"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/spec"
	"github.com/fleet-agent/fleet/watch"
)

// Engine is the reconcile side: desired state, observation and apply.
type Engine interface {
	// Desired computes what fleet f asks for on this host (it reads the cookbooks).
	Desired(ctx context.Context, f *spec.Fleet) (reconcile.Desired, error)
	// Observe reads the host into an Inventory.
	Observe(ctx context.Context) (reconcile.Inventory, error)
	// Apply runs plan, reporting every action event to onEvent from its own goroutine.
	Apply(ctx context.Context, desired reconcile.Desired, plan reconcile.Plan, onEvent func(reconcile.Event)) error
}

// Queue is the shared job queue: one client of it. A live queue edit replaces it (see live.go).
type Queue interface {
	// NewSlot returns the Resque worker slot for one VM.
	NewSlot(name string, queues []string) (Slot, error)
	// Run heartbeats the registered slots and recovers orphaned jobs until ctx ends.
	Run(ctx context.Context) error
	// SubmittedAt says when job id was submitted, zero when unknown (for the pickup latency).
	SubmittedAt(ctx context.Context, id string) time.Time
	// Jobs is the side of the queue a sandbox writes a job's log to and watches its cancel on.
	Jobs() sandbox.Queue
	// Pending counts the results and requeues waiting for this queue's Redis (its outbox):
	// a queue a live edit left keeps running until they are delivered.
	Pending() int
}

// Slot is one VM's Resque worker; *queue.Slot satisfies it.
type Slot interface {
	ID() string
	Register(ctx context.Context) error
	Unregister(ctx context.Context) error
	Fetch(ctx context.Context) (*queue.Job, error)
	Drain() <-chan struct{}
	Undrain()
	Finish(ctx context.Context, job *queue.Job, r queue.Result) error
	Requeue(ctx context.Context, job *queue.Job) error
}

// Sandboxes makes the job runner of one worker VM.
type Sandboxes interface {
	// New returns the runner of vm; jobs is the queue client slot came from.
	New(vm reconcile.VM, pool *spec.Pool, jobs sandbox.Queue, slot Slot) (Runner, error)
}

// Runner runs jobs on one VM; *sandbox.Sandbox (with a Reset) satisfies it.
type Runner interface {
	// Reset rolls the VM back to its ready state; it runs before the first job a worker
	// fetches, so a VM left dirty by a killed agent is clean again. An error means broken.
	Reset(ctx context.Context) error
	// Run runs job, records its result or requeues it, and rolls the VM back. An error
	// matching sandbox.ErrBroken means the VM must get no further job.
	Run(ctx context.Context, job *queue.Job) (sandbox.Outcome, error)
}

// Config configures a Daemon. Zero values take the documented defaults.
type Config struct {
	// ConfigPath is the fleet.hcl file or folder; it is watched and reloaded.
	ConfigPath string
	// Fleet is the spec loaded at start; it must be valid.
	Fleet *spec.Fleet
	// Load reads the fleet at ConfigPath; on failure it returns the diagnostics as text.
	// Default: spec.Load with HCL's text diagnostics.
	Load   func(path string) (*spec.Fleet, string, error)
	Engine Engine
	// Queue is the queue client at start. Its caller owns it (closes it after Run); the daemon
	// stops using it when a live edit moves the queue.
	Queue Queue
	// OpenQueue opens the queue client of an edited fleet (a live queue edit) and returns
	// what closes it, which the daemon calls once the client's last worker has gone. An error
	// rejects the edit. nil: queue edits are rejected.
	OpenQueue func(ctx context.Context, f *spec.Fleet) (Queue, func(), error)
	// Reload takes the live settings of an accepted edit that the daemon does not own
	// (listeners, reporters), given the running fleet, the edited one and the queue client in
	// force once the edit is. It runs on the loop's goroutine, before the edit is put in force,
	// for every edit that loads; it must apply all or nothing: an error (a *SettingError to be
	// located) rejects the whole edit. nil: nothing to do.
	Reload    func(ctx context.Context, old, new *spec.Fleet, q Queue) error
	Sandboxes Sandboxes
	// Metrics records the daemon's metrics; nil records nothing.
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Debounce is the watcher's quiet period. Default watch.DefaultDebounce.
	Debounce time.Duration
	// BackoffBase and BackoffMax bound the per-action retry delay. Defaults DefaultBackoffBase
	// and DefaultBackoffMax.
	BackoffBase, BackoffMax time.Duration
	// OnReady is called once, after the first pass (systemd's READY=1).
	OnReady func()
	// Report receives every job's life (see report.go); Run runs it and flushes it on the way
	// out. Default: report.Multi(nil), which reports nothing.
	Report Reporter
	// ReportFlush bounds the flush of Report once the last job ended. Default
	// DefaultReportFlush.
	ReportFlush time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Daemon is one running agent. Create it with New and call Run once.
type Daemon struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	path string // state_dir, fixed at start

	passReq     chan struct{}    // capacity 1: pending pass requests fold here
	queueSwitch chan queueSwitch // the loop hands a new queue client to runQueues
	stopReq     chan struct{}    // closed by Stop
	stopOne     sync.Once

	workersWG sync.WaitGroup // every worker goroutine

	mu         sync.Mutex // guards everything below
	fleet      *spec.Fleet
	queue      *queueGen // the client new workers take their slot from
	desired    reconcile.Desired
	specHash   string
	loadedAt   time.Time
	rejected   *control.RejectedEdit
	reload     bool // a spec reload is pending
	drain      DrainState
	op         OperatorState // workers drained one by one, pending replacements (operator.json)
	stopping   bool
	workers    map[string]*worker // by VM ID
	cordoned   map[string]bool    // VM IDs handed to reconcile (worker stopping or stopped)
	taken      map[string]bool    // VM IDs whose worker is gone: actions on them may run
	broken     map[string]string  // VM IDs the sandbox declared broken, with why
	inv        reconcile.Inventory
	backoff    *backoff
	passes     int
	lastPass   time.Time
	lastErr    string
	waiting    []string
	changed    chan struct{} // closed and replaced at every status change
	deadlineAt time.Time     // drain deadline timer target, zero if none
	started    time.Time
	sources    []SourceFile   // the files of the spec in force, read when it was accepted
	lastPlan   reconcile.Plan // the plan of the last pass, for the Host page
	lastPlanAt time.Time
}

// New checks cfg and returns a Daemon.
func New(cfg Config) (*Daemon, error) {
	if cfg.Fleet == nil || cfg.Engine == nil || cfg.Queue == nil || cfg.Sandboxes == nil {
		return nil, errors.New("daemon: Fleet, Engine, Queue and Sandboxes are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Load == nil {
		cfg.Load = LoadSpec
	}
	if cfg.Report == nil {
		cfg.Report = report.Multi(nil)
	}
	if cfg.ReportFlush <= 0 {
		cfg.ReportFlush = DefaultReportFlush
	}
	d := &Daemon{
		cfg:         cfg,
		log:         cfg.Log,
		now:         cfg.Now,
		path:        cfg.Fleet.Host.StateDir,
		passReq:     make(chan struct{}, 1),
		queueSwitch: make(chan queueSwitch),
		queue:       &queueGen{q: cfg.Queue},
		stopReq:     make(chan struct{}),
		fleet:       cfg.Fleet,
		workers:     map[string]*worker{},
		cordoned:    map[string]bool{},
		taken:       map[string]bool{},
		broken:      map[string]string{},
		backoff:     newBackoff(cfg.BackoffBase, cfg.BackoffMax),
		changed:     make(chan struct{}),
	}
	d.specHash = watch.Fingerprint(cfg.ConfigPath)
	d.sources = readSources(cfg.Fleet.Files)
	return d, nil
}

// SocketPath returns the control socket's path.
func (d *Daemon) SocketPath() string { return filepath.Join(d.path, control.SocketName) }

// Reload asks for fleet.hcl to be read again and a pass to run (SIGHUP).
func (d *Daemon) Reload() {
	d.mu.Lock()
	d.reload = true
	d.mu.Unlock()
	d.requestPass()
}

// Stop asks Run to stop fetching everywhere, let running jobs finish and return (SIGTERM). The
// drain it implies is not persisted: a restarted agent serves again. Cancel Run's context to
// cancel running jobs instead (they are requeued).
func (d *Daemon) Stop() {
	d.stopOne.Do(func() {
		d.mu.Lock()
		d.stopping = true
		d.updateGatesLocked()
		d.notifyLocked()
		d.mu.Unlock()
		close(d.stopReq)
	})
}

// requestPass folds a pass request into the pending one.
func (d *Daemon) requestPass() {
	select {
	case d.passReq <- struct{}{}:
	default:
	}
}

// Run runs the daemon until Stop (after running jobs finish) or until ctx ends (running jobs
// are canceled and requeued). It fails at once when the control socket or the watch cannot be
// set up, or another agent serves the same state_dir.
func (d *Daemon) Run(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(d.path, dirtyDir), 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	ds, err := LoadDrainState(d.path)
	if err != nil {
		return err
	}
	ops, err := LoadOperatorState(d.path)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.drain, d.op, d.started = ds, ops, d.now()
	if len(ops.Drained) > 0 {
		d.log.Info("vms_drained_at_start", "vms", d.drainedNames())
	}
	d.mu.Unlock()
	d.cfg.Metrics.SetDraining(ds.Draining)
	if ds.Draining {
		d.log.Info("drained_at_start", "since", ds.Since)
	}
	desired, err := d.cfg.Engine.Desired(ctx, d.cfg.Fleet)
	if err != nil {
		return fmt.Errorf("desired state: %w", err)
	}
	d.mu.Lock()
	d.desired, d.loadedAt = desired, d.now()
	d.mu.Unlock()

	srv, err := control.Listen(d.SocketPath(), d, d.log)
	if err != nil {
		return err
	}
	w, err := watch.New(d.cfg.ConfigPath, watch.Options{Debounce: d.cfg.Debounce, Log: d.log})
	if err != nil {
		srv.Serve(canceled()) // removes the socket
		return err
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var bgWG sync.WaitGroup
	defer bgWG.Wait()
	defer stopBG()
	goBG := func(name string, f func(context.Context) error) {
		bgWG.Add(1)
		go func() {
			defer bgWG.Done()
			if err := f(bg); err != nil {
				d.log.Error("service_failed", "service", name, "err", err)
			}
		}()
	}
	goBG("control", srv.Serve)
	goBG("watch", func(ctx context.Context) error {
		return w.Run(ctx, func() {
			d.log.Info("config_changed", "path", d.cfg.ConfigPath)
			d.Reload()
		})
	})
	goBG("queue", d.runQueues)
	goBG("report", d.cfg.Report.Run)

	loopCtx, stopLoop := context.WithCancel(ctx)
	go func() {
		select {
		case <-d.stopReq:
		case <-loopCtx.Done():
		}
		stopLoop()
	}()
	d.loop(loopCtx, ctx)
	stopLoop()

	// Shut down: no worker fetches any more; each finishes its job (or has it canceled and
	// requeued, when ctx ended) and unregisters.
	d.mu.Lock()
	d.stopping = true
	for _, wk := range d.workers {
		wk.stop()
	}
	d.updateGatesLocked()
	d.notifyLocked()
	running := 0
	for _, wk := range d.workers {
		if wk.snapshot().job != nil {
			running++
		}
	}
	d.mu.Unlock()
	d.log.Info("agent_stopping", "jobs_running", running)
	d.workersWG.Wait()
	// Every job has ended: flush the reports before stopBG ends their Run.
	fctx, stopFlush := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ReportFlush)
	if err := d.cfg.Report.Close(fctx); err != nil {
		d.log.Warn("report_flush_incomplete", "err", err)
	}
	stopFlush()
	d.log.Info("agent_stopped")
	return nil
}

// canceled returns a context that is already done.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// loop runs passes until ctx ends. jobCtx is the context workers' jobs run under.
func (d *Daemon) loop(ctx, jobCtx context.Context) {
	resync := resyncOf(d.cfg.Fleet)
	ticker := time.NewTicker(resync)
	defer ticker.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	deadline := time.NewTimer(time.Hour)
	deadline.Stop()
	defer deadline.Stop()

	d.requestPass()
	ready := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.passReq:
		case <-ticker.C:
		case <-retry.C:
		case <-deadline.C:
			d.drainDeadline()
			continue
		}
		d.maybeReload(ctx)
		d.mu.Lock()
		if r := resyncOf(d.fleet); r != resync {
			resync = r
			ticker.Reset(r)
			d.log.Info("resync_changed", "every", r)
		}
		d.mu.Unlock()
		d.pass(ctx, jobCtx)
		if !ready {
			ready = true
			if d.cfg.OnReady != nil {
				d.cfg.OnReady()
			}
		}
		d.mu.Lock()
		next := d.backoff.next(d.now())
		draining, dl := d.drain.Draining, d.drain.Deadline
		d.mu.Unlock()
		if !next.IsZero() {
			retry.Reset(next.Sub(d.now()))
		}
		if draining && !dl.IsZero() {
			deadline.Reset(max(dl.Sub(d.now()), 0))
		}
	}
}

// notifyLocked wakes everyone waiting on Changed. d.mu must be held.
func (d *Daemon) notifyLocked() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// Changed returns a channel closed at the next status change (control.Handler).
func (d *Daemon) Changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.changed
}
