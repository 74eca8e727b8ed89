package sandbox

// Jobs end the six ways the issue names, on one worker with a real queue:
// each leaves the right record, log and exit code, and the worker is rolled
// back after each, ready for the next.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

func TestJobResults(t *testing.T) {
	w := newWorld(t, true)
	vm, _ := w.worker(t, "results-1")
	slot := w.slot(t, "results-1", "builds")
	ctx := context.Background()

	tests := []struct {
		name   string
		steps  []string
		job    spec.Job          // the pool's limits; zero: the world's defaults
		edit   func(*queue.Args) // payload overrides
		before func(id string)   // runs before the job starts
		while  func(id string)   // runs while the job runs
		state  queue.State
		code   int
		err    error // errors.Is target for the result's Err
		log    []string
		nolog  []string
	}{
		{
			name: "passes", steps: []string{"echo hello from the guest", "test -f README"},
			state: queue.StatePassed, code: 0,
			log: []string{"$ git clone --depth=50", "$ echo hello from the guest\nhello from the guest\n", "$ test -f README", "result: passed (exit code 0)"},
		},
		{
			name: "fails at the first failing step", steps: []string{"echo one", "exit 3", "echo never"},
			state: queue.StateFailed, code: 3,
			log:   []string{"$ echo one\none\n", "$ exit 3", "step 2 failed with exit code 3", "result: failed (exit code 3)"},
			nolog: []string{"$ echo never"},
		},
		{
			name: "hits the hard timeout", steps: []string{"echo started; while :; do echo tick; sleep 0.2; done"},
			job:   spec.Job{Timeout: 2 * time.Second, LogSilence: time.Minute, MaxLog: 1 << 20},
			state: queue.StateErrored, code: -1, err: ErrTimeout,
			log: []string{"started", "ran longer than its timeout (2s)", "--- processes", "--- load", "--- disk", "result: errored"},
		},
		{
			name: "payload timeout overrides the pool's", steps: []string{"echo started; sleep 60"},
			edit:  func(a *queue.Args) { a.Timeout = queue.Duration(time.Second) },
			state: queue.StateErrored, code: -1, err: ErrTimeout,
			log: []string{"ran longer than its timeout (1s)", "--- processes"},
		},
		{
			name: "goes silent", steps: []string{"echo started; sleep 60"},
			job:   spec.Job{Timeout: time.Minute, LogSilence: 1500 * time.Millisecond, MaxLog: 1 << 20},
			state: queue.StateErrored, code: -1, err: ErrLogSilence,
			log: []string{"started", "printed nothing for 1.5s (log_silence)", "--- processes", "--- disk"},
		},
		{
			name: "prints more than max_log", steps: []string{"echo started; while :; do echo 0123456789abcdef; done"},
			job:   spec.Job{Timeout: time.Minute, LogSilence: time.Minute, MaxLog: 20000},
			state: queue.StateErrored, code: -1, err: ErrLogLimit,
			log: []string{"started", "log cut here: the job printed more than max_log (20000 bytes)", "result: errored"},
		},
		{
			name: "canceled mid-run", steps: []string{"echo started; sleep 60"},
			while: func(id string) {
				waitFor(t, "job output", time.Minute, func() bool { return strings.Contains(w.queueLog(t, id), "started") })
				if err := w.qc.Cancel(ctx, id); err != nil {
					t.Error(err)
				}
			},
			state: queue.StateCanceled, code: -1, err: queue.ErrCanceled,
			log: []string{"started", "result: canceled"},
		},
		{
			name: "canceled before it starts", steps: []string{"echo must not run"},
			before: func(id string) {
				if err := w.qc.Cancel(ctx, id); err != nil {
					t.Error(err)
				}
			},
			state: queue.StateCanceled, code: -1, err: queue.ErrCanceled,
			log:   []string{"result: canceled"},
			nolog: []string{"$ git clone", "must not run"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tee := &teeLogs{logs: map[string]*bytes.Buffer{}}
			s := w.sandbox(t, vm, w.qc, slot, func(c *Config) {
				if tt.job != (spec.Job{}) {
					c.Job = tt.job
				}
				c.LogOutput = tee.writer
			})
			a := w.args(tt.steps...)
			if tt.edit != nil {
				tt.edit(&a)
			}
			job := w.submitFetch(t, slot, a)
			if tt.before != nil {
				tt.before(job.ID)
			}
			whileDone := make(chan struct{})
			go func() {
				defer close(whileDone)
				if tt.while != nil {
					tt.while(job.ID)
				}
			}()
			out, err := s.Run(ctx, job)
			<-whileDone
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if out.Requeued {
				t.Fatalf("job requeued: %v", out.Err)
			}
			st, err := w.qc.JobStatus(ctx, job.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.state || st.ExitCode != tt.code {
				t.Errorf("record: state %q exit code %d, want %q %d (error %q)", st.State, st.ExitCode, tt.state, tt.code, st.Error)
			}
			if tt.err != nil && !errors.Is(out.Result.Err, tt.err) {
				t.Errorf("result error %v, want %v", out.Result.Err, tt.err)
			}
			if tt.err == nil && st.Error != "" {
				t.Errorf("record error %q, want none", st.Error)
			}
			got := w.queueLog(t, job.ID)
			for _, want := range tt.log {
				if !strings.Contains(got, want) {
					t.Errorf("queue log lacks %q; log:\n%s", want, got)
				}
			}
			for _, bad := range tt.nolog {
				if strings.Contains(got, bad) {
					t.Errorf("queue log has %q; log:\n%s", bad, got)
				}
			}
			local, err := os.ReadFile(LogPath(w.stateDir, job.ID))
			if err != nil {
				t.Fatal(err)
			}
			if string(local) != got {
				t.Errorf("local log (%d bytes) differs from the queue's (%d bytes)", len(local), len(got))
			}
			if copied := tee.text(job.ID); copied != string(local) {
				t.Errorf("LogOutput got %d bytes, want the local log's %d; got:\n%s", len(copied), len(local), copied)
			}
			if tt.err == ErrLogLimit && len(got) > 20000+2000 {
				t.Errorf("log is %d bytes, want about max_log (20000) plus the agent's notes", len(got))
			}
			if s.Broken() != nil {
				t.Fatalf("vm broken after the job: %v", s.Broken())
			}
		})
	}
}

// teeLogs is a Config.LogOutput that keeps each job's copy of its log.
type teeLogs struct {
	mu   sync.Mutex
	logs map[string]*bytes.Buffer
}

func (l *teeLogs) writer(id string) io.Writer {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &bytes.Buffer{}
	l.logs[id] = b
	return writerFunc(func(p []byte) (int, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return b.Write(p)
	})
}

func (l *teeLogs) text(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.logs[id]; b != nil {
		return b.String()
	}
	return ""
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestVMDeathRequeuesTheJob(t *testing.T) {
	w := newWorld(t, true)
	vm, _ := w.worker(t, "dies")
	slot := w.slot(t, "dies", "dies")
	s := w.sandbox(t, vm, w.qc, slot, nil)
	ctx := context.Background()

	job := w.submitFetch(t, slot, w.args("echo started; sleep 60"))
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		waitFor(t, "job output", time.Minute, func() bool { return strings.Contains(w.queueLog(t, job.ID), "started") })
		if err := w.drv.PowerOff(ctx, "dies"); err != nil {
			t.Error(err)
		}
	}()
	out, err := s.Run(ctx, job)
	<-killed
	if err != nil {
		t.Fatalf("Run: %v (the rollback should bring the VM back)", err)
	}
	var ie *InfraError
	if !out.Requeued || !errors.As(out.Err, &ie) {
		t.Fatalf("outcome %+v, want the job requeued for an infrastructure error", out)
	}
	if !strings.Contains(w.queueLog(t, job.ID), "infrastructure failure") {
		t.Errorf("log does not say why the job stopped:\n%s", w.queueLog(t, job.ID))
	}
	again, err := slot.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != job.ID || again.Attempt != 2 {
		t.Errorf("fetched %s attempt %d, want %s attempt 2", again.ID, again.Attempt, job.ID)
	}
	again.Script = []string{"echo second attempt"}
	// The rolled-back VM runs the job's next attempt.
	out, err = s.Run(ctx, again)
	if err != nil || out.Result.State != queue.StatePassed {
		t.Errorf("second attempt: %+v, %v", out, err)
	}
}
