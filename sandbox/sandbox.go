// The Sandbox type: its configuration, the queue-facing interfaces, and Run,
// which takes one fetched job from start to result and rolls the VM back.

package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

// Queue is the shared side of the queue a job talks to: its log record and
// its cancel signal. *queue.Client satisfies it.
type Queue interface {
	AppendLog(ctx context.Context, id string, chunk []byte) error
	WatchCancel(ctx context.Context, id string) (context.Context, func())
}

// Slot is the worker slot that fetched the job: it records the result or
// hands the job back. *queue.Slot satisfies it.
type Slot interface {
	Finish(ctx context.Context, job *queue.Job, r queue.Result) error
	Requeue(ctx context.Context, job *queue.Job) error
}

// Defaults for the zero values of Config's tunables.
const (
	DefaultUser            = "vagrant"
	DefaultSSHWait         = 2 * time.Minute
	DefaultDiagnoseTimeout = 10 * time.Second
	DefaultFlushInterval   = 500 * time.Millisecond
	DefaultChunkSize       = 8 << 10
	DefaultQueueTimeout    = 30 * time.Second
	DefaultRollbackTimeout = 10 * time.Minute
)

// Config configures the Sandbox of one worker VM.
type Config struct {
	// VM is the worker. Required.
	VM VM
	// Queue carries the job's log and cancel signal. Required.
	Queue Queue
	// Slot records results and requeues. Required.
	Slot Slot
	// Guest is the template of every SSH connection to the VM. Signers (the
	// agent's own key, guest.LoadOrCreateKey) is required: the box's
	// insecure key no longer opens a worker. User defaults to DefaultUser;
	// the timeouts keep guest's defaults when zero. VM, Addr and HostKey are
	// filled in from the VM's Endpoint; TrustOnFirstUse and HostKeyCallback
	// must stay unset, since a worker's host key is always pinned.
	Guest guest.Config
	// Job is the pool's job block; zero limits take spec's defaults.
	Job spec.Job
	// HostServices are the pool's network.host_services ("127.0.0.1:3142"): while a job
	// runs, each is forwarded over the job's SSH connection and listens inside the guest at
	// 127.0.0.1 on the same port. A forward the guest refuses fails the attempt (InfraError).
	HostServices []string
	// Rollback is spec.RollbackReadySnapshot (default) or
	// spec.RollbackPerJobSnapshot.
	Rollback string
	// StateDir is the agent's state directory; each job's log is kept in
	// StateDir/jobs/<id>.log. Required.
	StateDir string
	// SSHWait is how long the VM may take to answer SSH, before a job and
	// after a rollback's start. Default DefaultSSHWait.
	SSHWait time.Duration
	// DiagnoseTimeout bounds the diagnosis taken from the guest before a
	// job that hit a time limit is killed. Default DefaultDiagnoseTimeout.
	DiagnoseTimeout time.Duration
	// FlushInterval is the longest output waits before it is sent to the
	// queue. Default, and at most, DefaultFlushInterval.
	FlushInterval time.Duration
	// ChunkSize is the largest log chunk sent at once. Default
	// DefaultChunkSize.
	ChunkSize int
	// QueueTimeout bounds recording the result or requeueing, which happen
	// even when Run's context has ended. Default DefaultQueueTimeout.
	QueueTimeout time.Duration
	// RollbackTimeout bounds a rollback, which also runs when Run's context
	// has ended. Default DefaultRollbackTimeout.
	RollbackTimeout time.Duration
	// LogOutput, when set, is called once per job and returns a writer that
	// gets a copy of everything the job's log file gets (the job's output
	// and the agent's notes), in order, as it is written. Its Write is
	// called with the log's lock held, so it must not block (a
	// report.LogWriter only enqueues); its errors are ignored. Default:
	// none.
	LogOutput func(jobID string) io.Writer
}

// Sandbox runs jobs on one worker VM, one at a time. Run must not be called
// concurrently; Broken may be called from any goroutine.
type Sandbox struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	broken error // set once, by a failed rollback; guarded by mu
}

// New checks cfg, fills in defaults and returns the sandbox. A nil log
// discards.
func New(cfg Config, log *slog.Logger) (*Sandbox, error) {
	switch {
	case cfg.VM == nil:
		return nil, errors.New("sandbox: no vm")
	case cfg.Queue == nil || cfg.Slot == nil:
		return nil, errors.New("sandbox: no queue or slot")
	case len(cfg.Guest.Signers) == 0:
		return nil, errors.New("sandbox: no ssh key")
	case cfg.Guest.TrustOnFirstUse || cfg.Guest.HostKeyCallback != nil:
		return nil, errors.New("sandbox: host keys must be pinned")
	case cfg.StateDir == "":
		return nil, errors.New("sandbox: no state dir")
	}
	switch cfg.Rollback {
	case "":
		cfg.Rollback = spec.RollbackReadySnapshot
	case spec.RollbackReadySnapshot, spec.RollbackPerJobSnapshot:
	default:
		return nil, fmt.Errorf("sandbox: unknown rollback strategy %q", cfg.Rollback)
	}
	if cfg.Guest.User == "" {
		cfg.Guest.User = DefaultUser
	}
	setDefault(&cfg.SSHWait, DefaultSSHWait)
	setDefault(&cfg.DiagnoseTimeout, DefaultDiagnoseTimeout)
	setDefault(&cfg.QueueTimeout, DefaultQueueTimeout)
	setDefault(&cfg.RollbackTimeout, DefaultRollbackTimeout)
	if cfg.FlushInterval <= 0 || cfg.FlushInterval > DefaultFlushInterval {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sandbox{cfg: cfg, log: log.With("vm", cfg.VM.Name())}, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// ErrBroken is matched (errors.Is) by a *BrokenError.
var ErrBroken = errors.New("vm broken")

// BrokenError says which rollback step left the VM unusable.
type BrokenError struct {
	VM   string
	Step string
	Err  error
}

func (e *BrokenError) Error() string {
	return fmt.Sprintf("vm %s broken: %s: %v", e.VM, e.Step, e.Err)
}

// Unwrap returns the step's error.
func (e *BrokenError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBroken) true.
func (e *BrokenError) Is(target error) bool { return target == ErrBroken }

// Broken returns the *BrokenError that took the VM out of service, or nil.
func (s *Sandbox) Broken() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken
}

func (s *Sandbox) markBroken(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken == nil {
		s.broken = err
	}
}

// Outcome is what became of one job.
type Outcome struct {
	// Result is what was recorded (passed, failed, errored, canceled); its
	// State is empty when the job was requeued.
	Result queue.Result
	// Requeued is set when the job went back to the queue: the
	// infrastructure cut it short (Err says how) or the VM was broken.
	Requeued bool
	// Err is the infrastructure failure that requeued the job.
	Err error
	// Prepare is the time spent readying the VM before the script (the
	// per-job snapshot), Script the script's run time, Rollback the time
	// from the script's end to the VM being verified ready again.
	Prepare, Script, Rollback time.Duration
}

// Run runs job on the VM, records its result (or requeues it), then rolls the
// VM back. It returns an error when the VM is broken (matching ErrBroken: the
// job was requeued if it had not run, and the VM must get no further job) or
// when the result could not be recorded.
func (s *Sandbox) Run(ctx context.Context, job *queue.Job) (Outcome, error) {
	if err := s.Broken(); err != nil {
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.QueueTimeout)
		defer cancel()
		out := Outcome{Err: err}
		qerr := s.cfg.Slot.Requeue(qctx, job)
		out.Requeued = qerr == nil
		return out, errors.Join(err, qerr)
	}
	log := s.log.With("job_id", job.ID)
	log.Info("job_started", "attempt", job.Attempt, "rollback", s.cfg.Rollback)

	r := s.attempt(ctx, job, log)
	out := r.outcome
	qerr := s.record(ctx, job, &out, log)

	if r.touched {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.RollbackTimeout)
		defer cancel()
		start := time.Now()
		err := s.rollback(rctx, r.perJobSnapshot)
		out.Rollback = time.Since(start)
		if err != nil {
			s.markBroken(err)
			log.Error("vm_broken", "error", err)
			return out, errors.Join(err, qerr)
		}
		log.Info("vm_rolled_back", "took", out.Rollback)
	}
	return out, qerr
}

// record writes the result, or hands an infrastructure failure back to the
// queue; a requeue that fails is recorded as errored instead.
func (s *Sandbox) record(ctx context.Context, job *queue.Job, out *Outcome, log *slog.Logger) error {
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.QueueTimeout)
	defer cancel()
	if out.Err != nil {
		err := s.cfg.Slot.Requeue(qctx, job)
		if err == nil {
			out.Requeued = true
			log.Warn("job_requeued", "error", out.Err)
			return nil
		}
		if errors.Is(err, queue.ErrStale) {
			log.Warn("stale_attempt_discarded", "attempt", job.Attempt, "error", out.Err)
			return nil
		}
		log.Error("job_requeue_failed", "error", err)
		out.Result = queue.Result{State: queue.StateErrored, ExitCode: -1, Err: out.Err}
	}
	if err := s.cfg.Slot.Finish(qctx, job, out.Result); err != nil {
		if errors.Is(err, queue.ErrStale) {
			// Another host took the job over: this attempt's result is
			// discarded and is not the build's failure.
			log.Warn("stale_attempt_discarded", "attempt", job.Attempt, "state", string(out.Result.State))
			return nil
		}
		return fmt.Errorf("record result of job %s: %w", job.ID, err)
	}
	log.Info("job_finished", "state", string(out.Result.State), "exit_code", out.Result.ExitCode, "took", out.Script)
	return nil
}

// safeID matches job ids that are safe as file names; docs/JOBS.md's rule.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// fileID returns a file-name-safe form of a job id. Ids the queue accepts
// are used as they are; anything else is hashed, so an id never walks out
// of the jobs folder.
func fileID(id string) string {
	if safeID.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "job-" + hex.EncodeToString(sum[:12])
}

// LogPath returns the local file that keeps job id's log.
func LogPath(stateDir, id string) string {
	return filepath.Join(stateDir, "jobs", fileID(id)+".log")
}

func openJobLog(stateDir, id string) (*os.File, error) {
	p := LogPath(stateDir, id)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return nil, err
	}
	// Appending keeps every attempt of a requeued job, as the queue's log does.
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
}
