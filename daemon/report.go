// Reporting every job's life to the HTTP receivers of fleet.hcl's report blocks (package
// report). The worker reports received and started; the sandbox records each result or
// requeue through a reportSlot, which reports finished, canceled and requeued beside the
// record, so a receiver learns the result before the VM's rollback. Log output reaches the
// reporters through sandbox.Config.LogOutput, which agent/run.go sets.
package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/report"
	"github.com/fleet-agent/fleet/spec"
)

// DefaultReportFlush is how long Run keeps delivering reports after the last job ended.
const DefaultReportFlush = 10 * time.Second

// Reporter receives the life of every job the workers run; report.Multi satisfies it. Its
// event methods must not block: they run on the job's path.
type Reporter interface {
	Received(job *queue.Job)
	Started(jobID string, s report.Start)
	Finished(jobID string, f report.Finish)
	Requeued(jobID, reason string)
	Canceled(jobID, reason string)
	// Run delivers until ctx ends or Close has flushed.
	Run(ctx context.Context) error
	// Close flushes what it can within ctx; Run is told to return afterwards.
	Close(ctx context.Context) error
}

// ReportConfigs turns fleet.hcl's report blocks into the reporters' configs.
func ReportConfigs(reports []*spec.Report) []report.Config {
	out := make([]report.Config, 0, len(reports))
	for _, r := range reports {
		out = append(out, report.Config{
			Name: r.Kind, URL: r.URL, Token: r.Token, Secret: r.Secret,
			QueueEvents: r.QueueEvents, QueueBytes: int(r.QueueBytes), BatchBytes: int(r.BatchBytes),
			BatchInterval: r.BatchInterval, RequestTimeout: r.RequestTimeout,
			MinBackoff: r.MinBackoff, MaxBackoff: r.MaxBackoff, Senders: r.Senders,
		})
	}
	return out
}

// reportSlot is the Slot a worker's sandbox records through: each result and requeue is
// reported right after it is recorded.
type reportSlot struct {
	Slot
	rep Reporter
	now func() time.Time
	// queued and started describe the job being run. The worker sets them before the sandbox
	// runs it, and the sandbox calls Finish and Requeue from within that run, on the worker's
	// goroutine, so they need no lock.
	queued  time.Duration
	started time.Time
}

// begin reports that job is starting on the worker's VM.
func (s *reportSlot) begin(job *queue.Job, queued time.Duration, where report.Start) {
	s.queued, s.started = queued, s.now()
	s.rep.Started(job.ID, where)
}

// Finish records r and reports it: a canceled job first says that its cancel was acted on.
// The result is reported even when recording it failed: the build did end that way.
func (s *reportSlot) Finish(ctx context.Context, job *queue.Job, r queue.Result) error {
	err := s.Slot.Finish(ctx, job, r)
	if errors.Is(err, queue.ErrStale) {
		return err // another attempt owns the job: it reports the end
	}
	if r.State == queue.StateCanceled {
		reason := "cancel requested"
		if r.Err != nil {
			reason = r.Err.Error()
		}
		s.rep.Canceled(job.ID, reason)
	}
	f := report.Finish{Result: r.State, ExitCode: r.ExitCode, Err: r.Err, Attempt: job.Attempt, Queued: s.queued}
	if !s.started.IsZero() {
		f.Run = s.now().Sub(s.started)
	}
	s.rep.Finished(job.ID, f)
	return err
}

// Requeue hands job back and, once it is back in its queue, reports that.
func (s *reportSlot) Requeue(ctx context.Context, job *queue.Job) error {
	if err := s.Slot.Requeue(ctx, job); err != nil {
		return err // the sandbox records the job as errored instead: Finish reports that
	}
	s.rep.Requeued(job.ID, "the job could not run to its end on "+s.Slot.ID()+"; it went back to its queue")
	return nil
}
