package daemon

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/report"
	"github.com/fleet-agent/fleet/spec"
)

// recorder is a Reporter that writes every call down as one line.
type recorder struct {
	mu     sync.Mutex
	events []string
	starts []report.Start
	runs   int
	change chan struct{} // closed and replaced at every event
}

func newRecorder() *recorder { return &recorder{change: make(chan struct{})} }

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
	close(r.change)
	r.change = make(chan struct{})
}

func (r *recorder) Received(job *queue.Job) { r.add("received " + job.ID) }
func (r *recorder) Started(id string, s report.Start) {
	r.mu.Lock()
	r.starts = append(r.starts, s)
	r.mu.Unlock()
	r.add("started " + id)
}
func (r *recorder) Finished(id string, f report.Finish) {
	r.add(fmt.Sprintf("finished %s %s attempt=%d", id, f.Result, f.Attempt))
}
func (r *recorder) Requeued(id, _ string) { r.add("requeued " + id) }
func (r *recorder) Canceled(id, _ string) { r.add("canceled " + id) }
func (r *recorder) Run(ctx context.Context) error {
	r.mu.Lock()
	r.runs++
	r.mu.Unlock()
	<-ctx.Done()
	r.add("run_ended")
	return nil
}
func (r *recorder) Close(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		r.add("close_without_deadline")
		return nil
	}
	r.add("close")
	return nil
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// waitFor waits until the recorded events end with want.
func (r *recorder) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		ch, got := r.change, slices.Clone(r.events)
		r.mu.Unlock()
		if len(got) >= len(want) && slices.Equal(got[len(got)-len(want):], want) {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("reported events %q do not end with %q within 30s", got, want)
		}
	}
}

// TestWorkersReportEveryJob runs jobs that end each way through a daemon and checks what is
// reported and in which order: received, started, then finished beside the recorded result
// (canceled first for a canceled job) or requeued when the agent stops the job; and on the way
// out the reporters are flushed with a deadline before their Run ends.
func TestWorkersReportEveryJob(t *testing.T) {
	cases := []struct {
		name  string
		end   queue.State // "" : the agent is killed while the job runs
		tail  []string
		after []string // events after the job's, once the daemon stopped
	}{
		{"passed", queue.StatePassed, []string{"received j", "started j", "finished j passed attempt=1"}, []string{"close", "run_ended"}},
		{"failed", queue.StateFailed, []string{"received j", "started j", "finished j failed attempt=1"}, []string{"close", "run_ended"}},
		{"errored", queue.StateErrored, []string{"received j", "started j", "finished j errored attempt=1"}, []string{"close", "run_ended"}},
		{"canceled", queue.StateCanceled, []string{"received j", "started j", "canceled j", "finished j canceled attempt=1"}, []string{"close", "run_ended"}},
		{"requeued on kill", "", []string{"received j", "started j"}, []string{"requeued j", "close", "run_ended"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := newRecorder()
			h := newHarness(t, fleetSrc{vms: 1})
			h.report = rec
			h.start()
			h.until("one worker serving", workersNamed("ruby-1"))
			h.submit("j")
			if id := h.started(); id != "j" {
				t.Fatalf("started %q, want j", id)
			}
			rec.waitFor(t, "received j", "started j")
			if c.end == "" {
				h.kill()
			} else {
				h.jobs.finish("j", c.end)
				rec.waitFor(t, c.tail...)
				h.stop()
			}
			want := append(slices.Clone(c.tail), c.after...)
			if diff := cmp.Diff(want, rec.snapshot()); diff != "" {
				t.Errorf("reported events (-want +got):\n%s", diff)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if rec.runs != 1 {
				t.Errorf("Run called %d times, want once", rec.runs)
			}
			wantStart := []report.Start{{Worker: rec.starts[0].Worker, Host: "test-host", VM: "ruby-1", Image: rec.starts[0].Image}}
			if diff := cmp.Diff(wantStart, rec.starts); diff != "" || rec.starts[0].Worker == "" || rec.starts[0].Image == "" {
				t.Errorf("started with %+v; want host, vm, a worker id and an image", rec.starts)
			}
		})
	}
}

// TestReportConfigsKeepEveryLimit checks that a report block reaches report.Config whole, and
// that spec's documented defaults are report's own, so a block that leaves a limit out gets
// the same behaviour as a Config that leaves it zero.
func TestReportConfigsKeepEveryLimit(t *testing.T) {
	f, diags := spec.LoadBytes("fleet.hcl", []byte(`
report "http" {
  url   = "https://ci.example.org/hook"
  token = "t"
}
report "http" {
  url             = "https://other.example.org/hook"
  secret          = "s"
  queue_events    = 7
  queue_bytes     = "1MiB"
  batch_bytes     = "1KiB"
  batch_interval  = "2s"
  request_timeout = "3s"
  min_backoff     = "4s"
  max_backoff     = "5s"
  senders         = 6
}
box "b" {
  version = "1"
  url     = "file:b.box"
}
pool "p" { box = "b" }
`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := ReportConfigs(f.Reports)
	want := []report.Config{
		{
			Name: "http", URL: "https://ci.example.org/hook", Token: "t",
			QueueEvents: report.DefaultQueueEvents, QueueBytes: report.DefaultQueueBytes, BatchBytes: report.DefaultBatchBytes,
			BatchInterval: report.DefaultBatchInterval, RequestTimeout: report.DefaultRequestTimeout,
			MinBackoff: report.DefaultMinBackoff, MaxBackoff: report.DefaultMaxBackoff, Senders: report.DefaultSenders,
		},
		{
			Name: "http", URL: "https://other.example.org/hook", Secret: "s",
			QueueEvents: 7, QueueBytes: 1 << 20, BatchBytes: 1 << 10, BatchInterval: 2 * time.Second,
			RequestTimeout: 3 * time.Second, MinBackoff: 4 * time.Second, MaxBackoff: 5 * time.Second, Senders: 6,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("configs (-want +got):\n%s", diff)
	}
	if _, err := report.NewMulti(got, nil); err != nil {
		t.Errorf("NewMulti: %v", err)
	}
}
