package report

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/google/go-cmp/cmp"
)

// runJob reports a whole job with n log lines, interleaving nothing.
func runJob(r *Reporter, id string, lines int) {
	r.Received(testJob(id))
	r.Started(id, testStart)
	for i := range lines {
		r.Log(id, fmt.Appendf(nil, "line %d\n", i))
		if i%3 == 2 {
			r.Canceled(id, "poke") // forces a batch boundary
		}
	}
	r.Finished(id, Finish{Result: queue.StatePassed, Attempt: 1})
}

// perJob groups summaries by job id, in arrival order.
func perJob(evs []gotEvent) map[string][]string {
	out := map[string][]string{}
	for _, e := range evs {
		out[e.JobID] = append(out[e.JobID], summary(e))
	}
	return out
}

func TestReceiverFailingThenRecoveringGetsEveryEventInOrder(t *testing.T) {
	tests := []struct {
		name   string
		answer func(n int) int
	}{
		{"500 for the first 12 requests", func(n int) int {
			if n < 12 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		}},
		{"every other request 503", func(n int) int {
			if n%2 == 0 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}},
		{"429 then 502 then fine", func(n int) int {
			switch {
			case n < 4:
				return http.StatusTooManyRequests
			case n < 8:
				return http.StatusBadGateway
			}
			return http.StatusOK
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// What a healthy receiver gets is the expectation.
			healthy := newReceiver(t, nil)
			hr := startReporter(t, fastConfig(healthy.srv.URL), nil)
			flaky := newReceiver(t, tt.answer)
			fr := startReporter(t, fastConfig(flaky.srv.URL), nil)
			const jobs, lines = 3, 7
			var wg sync.WaitGroup
			for _, r := range []*Reporter{hr, fr} {
				for j := range jobs {
					wg.Go(func() { runJob(r, fmt.Sprintf("job-%d", j), lines) })
				}
			}
			wg.Wait()
			perJobEvents := 2 + (lines+2)/3 + lines/3 + 1 // received, started, batches, canceled, finished
			want := perJob(healthy.waitAccepted(t, jobs*perJobEvents))
			got := perJob(flaky.waitAccepted(t, jobs*perJobEvents))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("events per job (-healthy +flaky):\n%s", diff)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := fr.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if s := fr.Stats(); s.Retried == 0 || s.Delivered != uint64(jobs*perJobEvents) {
				t.Errorf("stats %+v, want retries and %d delivered", s, jobs*perJobEvents)
			}
		})
	}
}

func TestRefusedEventIsNotRetried(t *testing.T) {
	rc := newReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusBadRequest
		}
		return http.StatusOK
	})
	r := startReporter(t, fastConfig(rc.srv.URL), nil)
	r.Received(testJob("job-1"))
	r.Started("job-1", testStart)
	r.Finished("job-1", Finish{Result: queue.StatePassed, Attempt: 1})
	rc.waitFor(t, "three requests", func() bool { return len(rc.all) >= 3 })
	var got []string
	for _, req := range rc.requests() {
		got = append(got, fmt.Sprintf("%s %d", req.event.Type, req.status))
	}
	want := []string{"received 200", "started 400", "finished 200"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if s := r.Stats(); s.Rejected != 1 {
		t.Errorf("stats %+v, want 1 rejected", s)
	}
}

// TestDeadReceiverNeverBlocksTheCaller reports whole jobs while the
// receiver holds every request forever: each call must return, the bound
// must hold by dropping log batches, and (the lifecycle events fitting in
// the bound) no lifecycle event may be lost.
func TestDeadReceiverNeverBlocksTheCaller(t *testing.T) {
	block := make(chan struct{})
	rc := newBlockingReceiver(t, nil, block)
	t.Cleanup(func() { close(block) }) // runs before the server closes
	cfg := fastConfig(rc.srv.URL)
	cfg.QueueEvents = 16
	cfg.BatchBytes = 8
	r := startReporter(t, cfg, nil)

	r.Received(testJob("job-0"))
	rc.waitFor(t, "the receiver to hold a request", func() bool { return rc.entered > 0 })

	const jobs = 5
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		for j := range jobs {
			id := fmt.Sprintf("job-%d", j)
			if j > 0 {
				r.Received(testJob(id))
			}
			r.Started(id, testStart)
			for range 50 {
				r.Log(id, []byte("0123456789abcdef"))
			}
			r.Finished(id, Finish{Result: queue.StatePassed, Attempt: 1})
		}
	}()
	select {
	case <-returned:
	case <-time.After(30 * time.Second):
		t.Fatal("event calls did not return while the receiver was blocked")
	}

	rc.mu.Lock()
	answered := len(rc.all)
	rc.mu.Unlock()
	if answered != 0 {
		t.Fatalf("receiver answered %d requests, want it still blocked", answered)
	}
	r.mu.Lock()
	kinds := map[string]int{}
	for _, it := range r.q.items {
		kinds[it.kind]++
	}
	// Each run's oldest event, its received, may be held by a sender.
	kinds[TypeReceived] += r.inflight
	r.mu.Unlock()
	want := map[string]int{TypeReceived: jobs, TypeStarted: jobs, TypeFinished: jobs}
	delete(kinds, TypeLog)
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("lifecycle events queued or in flight (-want +got):\n%s", diff)
	}
	if s := r.Stats(); s.Dropped == 0 {
		t.Errorf("stats %+v, want dropped log batches", s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want undelivered events and DeadlineExceeded", err)
	}
}

// TestDropsAreReportedInTheNextEvent holds the receiver while a job
// overflows the queue, then lets it go: every sequence number is either
// delivered or counted as dropped in a later event, and log offsets show
// exactly which bytes are missing.
func TestDropsAreReportedInTheNextEvent(t *testing.T) {
	block := make(chan struct{})
	rc := newBlockingReceiver(t, nil, block)
	var once sync.Once
	release := func() { once.Do(func() { close(block) }) }
	t.Cleanup(release)
	cfg := fastConfig(rc.srv.URL)
	cfg.QueueEvents = 6
	cfg.BatchBytes = 4
	r := startReporter(t, cfg, nil)

	r.Received(testJob("job-1"))
	rc.waitFor(t, "the receiver to hold a request", func() bool { return rc.entered > 0 })
	r.Started("job-1", testStart)
	for range 20 {
		r.Log("job-1", []byte("abcd"))
	}
	r.Finished("job-1", Finish{Result: queue.StatePassed, Attempt: 1})
	release()

	fin := 0
	rc.waitFor(t, "finished", func() bool {
		for _, req := range rc.all {
			if req.event.Type == TypeFinished {
				fin++
			}
		}
		return fin > 0
	})
	got := rc.accepted()
	var seqs, dropped int
	var logBytes, lastEnd int64
	var missing int64
	for _, e := range got {
		seqs++
		dropped += e.Dropped
		if e.Type == TypeLog {
			missing += e.Offset - lastEnd
			lastEnd = e.Offset + int64(e.Size)
			logBytes += int64(e.Size)
		}
	}
	last := got[len(got)-1]
	if dropped == 0 {
		t.Fatalf("no event reported drops; events: %v", got)
	}
	if int64(seqs+dropped) != last.Seq {
		t.Errorf("%d delivered + %d dropped, want the last seq %d", seqs, dropped, last.Seq)
	}
	missing += last.LogBytes - lastEnd
	if missing != int64(dropped)*4 || logBytes+missing != 80 {
		t.Errorf("offsets show %d missing bytes, want %d dropped batches of 4 out of 80", missing, dropped)
	}
	if s := r.Stats(); s.Dropped != uint64(dropped) {
		t.Errorf("stats dropped %d, events reported %d", s.Dropped, dropped)
	}
}

func TestCloseFlushesPendingLogAndQueue(t *testing.T) {
	rc := newReceiver(t, nil)
	r := startReporter(t, fastConfig(rc.srv.URL), nil)
	r.Received(testJob("job-1"))
	r.Log("job-1", []byte("half a job"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var got []string
	for _, e := range rc.accepted() {
		got = append(got, summary(e))
	}
	want := []string{
		"received seq=1 queue=builds attempt=1 repo=svenfuchs/gem-release commit=8f0daa7 branch=master",
		`log seq=2 offset=0 size=10 "half a job"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivered before Close returned (-want +got):\n%s", diff)
	}
}

func TestCloseWithoutRunDeliversWithinDeadline(t *testing.T) {
	up := newReceiver(t, nil)
	tests := []struct {
		name    string
		url     string
		wantErr error
	}{
		{"receiver up: delivered", up.srv.URL, nil},
		{"receiver down: deadline", "http://127.0.0.1:1/hook", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(fastConfig(tt.url), nil)
			if err != nil {
				t.Fatal(err)
			}
			r.Received(testJob("job-1"))
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if err := r.Close(ctx); !errors.Is(err, tt.wantErr) {
				t.Errorf("Close = %v, want %v", err, tt.wantErr)
			}
			if err := r.Run(context.Background()); err != nil {
				t.Errorf("Run after Close = %v, want nil at once", err)
			}
		})
	}
}
