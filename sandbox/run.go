// One attempt at a job: log, cancel watch, per-job snapshot, SSH, upload,
// the script under its limits, and the mapping of how it ended to a result.

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

// ScriptPath is where the build script is uploaded, relative to the build
// user's home.
const ScriptPath = ".fleet/job.sh"

// runCommand is the only command text the sandbox runs for a job: fixed, no
// payload in it.
const runCommand = `/bin/sh "$HOME/` + ScriptPath + `"`

type attemptResult struct {
	outcome Outcome
	// touched is set once the VM may have changed: a rollback is due.
	touched bool
	// perJobSnapshot is the ID of the snapshot taken before the job, if any.
	perJobSnapshot string
}

// attempt runs the job and says how it ended, without recording anything in
// the queue. outcome.Err is set for an infrastructure failure.
func (s *Sandbox) attempt(ctx context.Context, job *queue.Job, log *slog.Logger) attemptResult {
	var r attemptResult
	infra := func(step string, err error) attemptResult {
		r.outcome.Err = &InfraError{Step: step, Err: err}
		return r
	}
	lim := LimitsFor(s.cfg.Job, job.Args)
	f, err := openJobLog(s.cfg.StateDir, job.ID)
	if err != nil {
		return infra("open job log", err)
	}
	ls := newLogStream(job.ID, f, s.cfg.Queue.AppendLog, lim.MaxLog, s.cfg.ChunkSize, s.cfg.FlushInterval, log)
	if s.cfg.LogOutput != nil {
		ls.tee = s.cfg.LogOutput(job.ID)
	}
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		ls.run(context.WithoutCancel(ctx))
	}()
	defer func() {
		<-flushed // closeLog below stops the flusher
	}()
	closeLog := func() {
		if err := ls.close(context.WithoutCancel(ctx)); err != nil {
			log.Warn("job_log_incomplete", "error", err)
		}
	}
	defer closeLog()

	ls.note("job %q, attempt %d, on %s; limits: timeout %s, log silence %s, max log %d bytes",
		job.ID, job.Attempt, s.cfg.VM.Name(), lim.Timeout, lim.LogSilence, lim.MaxLog)

	cctx, stopWatch := s.cfg.Queue.WatchCancel(ctx, job.ID)
	defer stopWatch()
	res, scriptTook, err := s.execute(cctx, job, lim, ls, &r)
	r.outcome.Script = scriptTook
	if err != nil {
		ls.note("infrastructure failure: %v; the job goes back to the queue", err)
		r.outcome.Err = err
		return r
	}
	r.outcome.Result = res
	switch res.State {
	case queue.StatePassed, queue.StateFailed:
		ls.note("result: %s (exit code %d)", res.State, res.ExitCode)
	default:
		ls.note("result: %s: %v", res.State, res.Err)
	}
	return r
}

// execute runs the script. It returns the job's result, or an *InfraError
// when the job could not run to its own end.
func (s *Sandbox) execute(ctx context.Context, job *queue.Job, lim Limits, ls *logStream, r *attemptResult) (queue.Result, time.Duration, error) {
	if cause := context.Cause(ctx); errors.Is(cause, queue.ErrCanceled) {
		return queue.Result{State: queue.StateCanceled, ExitCode: -1, Err: cause}, 0, nil
	}
	script, err := Script(job.Args)
	if err != nil {
		return queue.Result{State: queue.StateErrored, ExitCode: -1, Err: err}, 0, nil
	}
	infra := func(step string, err error) (queue.Result, time.Duration, error) {
		if cause := context.Cause(ctx); errors.Is(cause, queue.ErrCanceled) {
			return queue.Result{State: queue.StateCanceled, ExitCode: -1, Err: cause}, 0, nil
		}
		return queue.Result{}, 0, &InfraError{Step: step, Err: err}
	}

	if s.cfg.Rollback == spec.RollbackPerJobSnapshot {
		r.touched = true
		start := time.Now()
		id, err := s.cfg.VM.TakeSnapshot(ctx, "job-"+fileID(job.ID))
		r.outcome.Prepare = time.Since(start)
		if err != nil {
			return infra("take per-job snapshot", err)
		}
		r.perJobSnapshot = id
	}
	ep, err := s.cfg.VM.Endpoint(ctx)
	if err != nil {
		return infra("endpoint", err)
	}
	r.touched = true
	c, err := guest.WaitForSSH(ctx, s.guestConfig(ep), s.cfg.SSHWait)
	if err != nil {
		return infra("connect", err)
	}
	defer c.Close()
	if err := c.Upload(ctx, ScriptPath, 0o700, strings.NewReader(script)); err != nil {
		return infra("upload script", err)
	}
	if len(s.cfg.HostServices) > 0 {
		stop, err := c.ForwardAll(s.cfg.HostServices)
		if err != nil {
			return infra("forward host services", err)
		}
		defer stop() // before c.Close: the forwards end with the job
	}

	jctx, cancelJob := context.WithCancelCause(ctx)
	defer cancelJob(nil)
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		s.watch(jctx, cancelJob, c, ls, lim, done)
	}()
	start := time.Now()
	err = c.Run(jctx, runCommand, ls, ls)
	took := time.Since(start)
	close(done)
	<-watched

	var ee *guest.ExitError
	switch {
	case err == nil:
		return queue.Result{State: queue.StatePassed}, took, nil
	case jctx.Err() != nil && errors.Is(err, jctx.Err()):
		cause := context.Cause(jctx)
		var le *LimitError
		switch {
		case errors.As(cause, &le):
			return queue.Result{State: queue.StateErrored, ExitCode: -1, Err: le}, took, nil
		case errors.Is(cause, queue.ErrCanceled):
			return queue.Result{State: queue.StateCanceled, ExitCode: -1, Err: cause}, took, nil
		}
		return queue.Result{}, took, &InfraError{Step: "run", Err: fmt.Errorf("agent stopped the job: %w", cause)}
	case errors.As(err, &ee):
		return queue.Result{State: queue.StateFailed, ExitCode: ee.Code}, took, nil
	}
	return queue.Result{}, took, &InfraError{Step: "run", Err: err}
}

// guestConfig is how the sandbox reaches the VM: the agent's key and the
// pinned host key, never trust on first use.
func (s *Sandbox) guestConfig(ep Endpoint) guest.Config {
	c := s.cfg.Guest
	c.VM, c.Addr, c.HostKey = s.cfg.VM.Name(), ep.Addr, ep.HostKey
	if c.Log == nil {
		c.Log = s.log
	}
	return c
}
