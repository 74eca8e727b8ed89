// This file fans events out to several reporters (fleet.hcl may hold
// several `report "http"` blocks) and adapts a job's log writer into Log
// events.

package report

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/fleet-agent/fleet/queue"
)

// Multi sends every event to each of its reporters. The zero value (no
// reporters) is valid and does nothing, so the daemon needs no special case
// for a fleet.hcl without reporters.
type Multi []*Reporter

// NewMulti returns a Multi with one Reporter per config.
func NewMulti(cfgs []Config, log *slog.Logger) (Multi, error) {
	m := make(Multi, 0, len(cfgs))
	for _, c := range cfgs {
		r, err := New(c, log)
		if err != nil {
			return nil, err
		}
		m = append(m, r)
	}
	return m, nil
}

// Run runs every reporter and returns when all have returned.
func (m Multi) Run(ctx context.Context) error {
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, r := range m {
		wg.Go(func() { errs[i] = r.Run(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close closes every reporter concurrently, all within ctx.
func (m Multi) Close(ctx context.Context) error {
	errs := make([]error, len(m))
	var wg sync.WaitGroup
	for i, r := range m {
		wg.Go(func() { errs[i] = r.Close(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Received calls Received on every reporter.
func (m Multi) Received(job *queue.Job) {
	for _, r := range m {
		r.Received(job)
	}
}

// Started calls Started on every reporter.
func (m Multi) Started(jobID string, s Start) {
	for _, r := range m {
		r.Started(jobID, s)
	}
}

// Log calls Log on every reporter.
func (m Multi) Log(jobID string, chunk []byte) {
	for _, r := range m {
		r.Log(jobID, chunk)
	}
}

// Finished calls Finished on every reporter.
func (m Multi) Finished(jobID string, f Finish) {
	for _, r := range m {
		r.Finished(jobID, f)
	}
}

// Requeued calls Requeued on every reporter.
func (m Multi) Requeued(jobID, reason string) {
	for _, r := range m {
		r.Requeued(jobID, reason)
	}
}

// Canceled calls Canceled on every reporter.
func (m Multi) Canceled(jobID, reason string) {
	for _, r := range m {
		r.Canceled(jobID, reason)
	}
}

// LogSink receives a job's log output; Reporter and Multi are LogSinks.
type LogSink interface {
	Log(jobID string, chunk []byte)
}

// LogWriter is an io.Writer that reports everything written to it as log
// output of one job. Wrap it with io.MultiWriter beside the writer that
// keeps the job's log in Redis.
type LogWriter struct {
	sink  LogSink
	jobID string
}

// NewLogWriter returns a LogWriter for jobID's output.
func NewLogWriter(sink LogSink, jobID string) *LogWriter {
	return &LogWriter{sink: sink, jobID: jobID}
}

// Write reports p and never fails: reporting must not fail a build.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.sink.Log(w.jobID, p)
	return len(p), nil
}
