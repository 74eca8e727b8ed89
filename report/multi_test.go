package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/google/go-cmp/cmp"
)

// TestMultiFansOutThroughLogWriter wires reporters the way the daemon
// does: a Multi, and the job's log writer wrapped in an io.MultiWriter.
func TestMultiFansOutThroughLogWriter(t *testing.T) {
	a, b := newReceiver(t, nil), newReceiver(t, nil)
	m, err := NewMulti([]Config{fastConfig(a.srv.URL), fastConfig(b.srv.URL)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	var redisLog bytesCounter
	w := io.MultiWriter(&redisLog, NewLogWriter(m, "job-1"))
	m.Received(testJob("job-1"))
	m.Started("job-1", testStart)
	fmt.Fprintf(w, "step %d\n", 1)
	m.Canceled("job-1", "user")
	fmt.Fprintf(w, "step %d\n", 2)
	m.Finished("job-1", Finish{Result: queue.StateCanceled, Attempt: 1})
	m.Received(testJob("job-2"))
	m.Requeued("job-2", "shutdown")

	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer ccancel()
	if err := m.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	want := map[string][]string{
		"job-1": {"received", "started", "log", "canceled", "log", "finished"},
		"job-2": {"received", "requeued"},
	}
	for name, rc := range map[string]*receiver{"a": a, "b": b} {
		got := map[string][]string{}
		for _, e := range rc.accepted() {
			got[e.JobID] = append(got[e.JobID], e.Type)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("receiver %s, events per job (-want +got):\n%s", name, diff)
		}
	}
	if redisLog != 14 {
		t.Errorf("the other writer got %d bytes, want 14", redisLog)
	}
}

type bytesCounter int

func (c *bytesCounter) Write(p []byte) (int, error) {
	*c += bytesCounter(len(p))
	return len(p), nil
}

func TestNewMultiRejectsABadConfig(t *testing.T) {
	_, err := NewMulti([]Config{{URL: "http://ok.example/h"}, {Name: "bad", URL: "gopher://x/"}}, nil)
	if !errors.Is(err, ErrConfig) {
		t.Errorf("NewMulti = %v, want ErrConfig", err)
	}
}

func TestEmptyMultiDoesNothing(t *testing.T) {
	var m Multi
	m.Received(testJob("job-1"))
	NewLogWriter(m, "job-1").Write([]byte("x"))
	m.Finished("job-1", Finish{})
	if err := m.Run(context.Background()); err != nil {
		t.Errorf("Run = %v", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestRunTwiceFails(t *testing.T) {
	rc := newReceiver(t, nil)
	r := startReporter(t, fastConfig(rc.srv.URL), nil)
	r.Received(testJob("job-1"))
	rc.waitAccepted(t, 1) // Run is running
	if err := r.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
}
