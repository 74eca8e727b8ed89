package report

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func testJob(id string) *queue.Job {
	return &queue.Job{
		Args: queue.Args{
			ID:         id,
			Repository: queue.Repository{Slug: "svenfuchs/gem-release", URL: "https://github.com/svenfuchs/gem-release.git"},
			Commit:     "8f0daa7",
			Branch:     "master",
			Script:     []string{"bundle exec rake"},
		},
		Queue:   "builds",
		Attempt: 1,
	}
}

var testStart = Start{Worker: "build-01:42-1:builds", Host: "build-01", VM: "ruby-1", Image: "ruby-3f9a"}

// summary renders an event as one comparable line.
func summary(e gotEvent) string {
	s := fmt.Sprintf("%s seq=%d", e.Type, e.Seq)
	if e.Dropped > 0 {
		s += fmt.Sprintf(" dropped=%d", e.Dropped)
	}
	switch e.Type {
	case TypeReceived:
		s += fmt.Sprintf(" queue=%s attempt=%d repo=%s commit=%s branch=%s", e.Queue, e.Attempt, e.Repository, e.Commit, e.Branch)
	case TypeStarted:
		s += fmt.Sprintf(" worker=%s host=%s vm=%s image=%s", e.Worker, e.Host, e.VM, e.Image)
	case TypeLog:
		s += fmt.Sprintf(" offset=%d size=%d %q", e.Offset, e.Size, e.Data)
	case TypeFinished:
		s += fmt.Sprintf(" result=%s exit=%d attempt=%d log_bytes=%d run_ms=%d", e.Result, e.ExitCode, e.Attempt, e.LogBytes, e.Durations.RunMS)
		if e.Error != "" {
			s += " error=" + e.Error
		}
	case TypeRequeued, TypeCanceled:
		s += " reason=" + e.Reason
	}
	return s
}

func TestEventSequencePerJobOutcome(t *testing.T) {
	tests := []struct {
		name  string
		steps func(r *Reporter, id string)
		want  []string
	}{
		{
			name: "passing job",
			steps: func(r *Reporter, id string) {
				r.Received(testJob(id))
				r.Started(id, testStart)
				r.Log(id, []byte("$ bundle exec rake\n"))
				r.Log(id, []byte("ok\n"))
				r.Finished(id, Finish{Result: queue.StatePassed, Attempt: 1, Run: 3 * time.Second})
			},
			want: []string{
				"received seq=1 queue=builds attempt=1 repo=svenfuchs/gem-release commit=8f0daa7 branch=master",
				"started seq=2 worker=build-01:42-1:builds host=build-01 vm=ruby-1 image=ruby-3f9a",
				`log seq=3 offset=0 size=22 "$ bundle exec rake\nok\n"`,
				"finished seq=4 result=passed exit=0 attempt=1 log_bytes=22 run_ms=3000",
			},
		},
		{
			name: "failing job",
			steps: func(r *Reporter, id string) {
				r.Received(testJob(id))
				r.Started(id, testStart)
				r.Log(id, []byte("1 failure\n"))
				r.Finished(id, Finish{Result: queue.StateFailed, ExitCode: 1, Attempt: 1, Run: time.Second})
			},
			want: []string{
				"received seq=1 queue=builds attempt=1 repo=svenfuchs/gem-release commit=8f0daa7 branch=master",
				"started seq=2 worker=build-01:42-1:builds host=build-01 vm=ruby-1 image=ruby-3f9a",
				`log seq=3 offset=0 size=10 "1 failure\n"`,
				"finished seq=4 result=failed exit=1 attempt=1 log_bytes=10 run_ms=1000",
			},
		},
		{
			name: "timed out job",
			steps: func(r *Reporter, id string) {
				r.Received(testJob(id))
				r.Started(id, testStart)
				r.Log(id, []byte("sleeping\n"))
				r.Finished(id, Finish{Result: queue.StateErrored, ExitCode: -1, Attempt: 1,
					Err: errors.New("job timed out after 50m0s"), Run: 50 * time.Minute})
			},
			want: []string{
				"received seq=1 queue=builds attempt=1 repo=svenfuchs/gem-release commit=8f0daa7 branch=master",
				"started seq=2 worker=build-01:42-1:builds host=build-01 vm=ruby-1 image=ruby-3f9a",
				`log seq=3 offset=0 size=9 "sleeping\n"`,
				"finished seq=4 result=errored exit=-1 attempt=1 log_bytes=9 run_ms=3000000 error=job timed out after 50m0s",
			},
		},
		{
			name: "canceled job",
			steps: func(r *Reporter, id string) {
				r.Received(testJob(id))
				r.Started(id, testStart)
				r.Log(id, []byte("building\n"))
				r.Canceled(id, "cancel requested")
				r.Log(id, []byte("Terminated\n"))
				r.Finished(id, Finish{Result: queue.StateCanceled, ExitCode: 143, Attempt: 1,
					Err: errors.New("job canceled")})
			},
			want: []string{
				"received seq=1 queue=builds attempt=1 repo=svenfuchs/gem-release commit=8f0daa7 branch=master",
				"started seq=2 worker=build-01:42-1:builds host=build-01 vm=ruby-1 image=ruby-3f9a",
				`log seq=3 offset=0 size=9 "building\n"`,
				"canceled seq=4 reason=cancel requested",
				`log seq=5 offset=9 size=11 "Terminated\n"`,
				"finished seq=6 result=canceled exit=143 attempt=1 log_bytes=20 run_ms=0 error=job canceled",
			},
		},
		{
			name: "requeued job",
			steps: func(r *Reporter, id string) {
				r.Received(testJob(id))
				r.Requeued(id, "vm ruby-1 lost ssh")
			},
			want: []string{
				"received seq=1 queue=builds attempt=1 repo=svenfuchs/gem-release commit=8f0daa7 branch=master",
				"requeued seq=2 reason=vm ruby-1 lost ssh",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			r := startReporter(t, fastConfig(rc.srv.URL), nil)
			tt.steps(r, "job-1")
			got := rc.waitAccepted(t, len(tt.want))
			var lines []string
			for _, e := range got {
				lines = append(lines, summary(e))
				if e.JobID != "job-1" || e.RunID != got[0].RunID || e.RunID == "" {
					t.Errorf("%s: job_id %q run_id %q, want job-1 and one run id %q", e.Type, e.JobID, e.RunID, got[0].RunID)
				}
			}
			if diff := cmp.Diff(tt.want, lines); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEventBodiesMatchGolden pins the JSON bodies documented in
// docs/JOBS.md: field names, order and encoding are the product.
func TestEventBodiesMatchGolden(t *testing.T) {
	rc := newReceiver(t, nil)
	r, err := New(fastConfig(rc.srv.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 12, 15, 23, 55, 0, time.UTC)
	r.now = func() time.Time { return at }
	r.newRunID = func() string { return "3f9a0c1d2e4b5a69" }
	runReporter(t, r)

	id := "20260112-152355-9f3a1c2b"
	r.Received(testJob(id))
	r.Started(id, testStart)
	r.Log(id, []byte("$ bundle exec rake\n"))
	r.Canceled(id, "cancel requested")
	r.Log(id, []byte{0xff, 0xfe, '\n'})
	r.Finished(id, Finish{Result: queue.StateCanceled, ExitCode: 143, Attempt: 1, Err: errors.New("job canceled"),
		Queued: 1200 * time.Millisecond, Run: 53 * time.Second, Total: 61 * time.Second})
	rc.waitAccepted(t, 6)
	var got bytes.Buffer
	for _, req := range rc.requests() {
		got.Write(req.body)
		got.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "events.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

func TestLogBatching(t *testing.T) {
	const kib = 1 << 10
	tests := []struct {
		name       string
		chunks     []int // sizes written before Finished
		batchBytes int
		wantSizes  []int
	}{
		{"small writes coalesce into one batch", []int{10, 20, 30}, 64 * kib, []int{60}},
		{"a full buffer is cut at 64 KiB", repeat(kib, 150), 64 * kib, []int{64 * kib, 64 * kib, 22 * kib}},
		{"one huge write is split", []int{130 * kib}, 64 * kib, []int{64 * kib, 64 * kib, 2 * kib}},
		{"configured batch size", []int{10, 10, 10}, 8, []int{8, 8, 8, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, nil)
			cfg := fastConfig(rc.srv.URL)
			cfg.BatchBytes = tt.batchBytes
			r := startReporter(t, cfg, nil)
			total := 0
			for _, n := range tt.chunks {
				r.Log("job-1", bytes.Repeat([]byte("x"), n))
				total += n
			}
			r.Finished("job-1", Finish{Result: queue.StatePassed, Attempt: 1})
			got := rc.waitAccepted(t, len(tt.wantSizes)+1)
			var sizes []int
			var offset int64
			for _, e := range got[:len(got)-1] {
				if e.Offset != offset {
					t.Errorf("log seq %d: offset %d, want %d", e.Seq, e.Offset, offset)
				}
				offset += int64(e.Size)
				sizes = append(sizes, e.Size)
			}
			if diff := cmp.Diff(tt.wantSizes, sizes); diff != "" {
				t.Errorf("batch sizes (-want +got):\n%s", diff)
			}
			if fin := got[len(got)-1]; fin.Type != TypeFinished || fin.LogBytes != int64(total) {
				t.Errorf("last event %s log_bytes %d, want finished with %d", fin.Type, fin.LogBytes, total)
			}
		})
	}
}

func repeat(n, times int) []int {
	out := make([]int, times)
	for i := range out {
		out[i] = n
	}
	return out
}

// TestLogIntervalSendsWithoutLifecycleEvent proves that output is sent once
// its interval passes, not only when the job ends.
func TestLogIntervalSendsWithoutLifecycleEvent(t *testing.T) {
	rc := newReceiver(t, nil)
	cfg := fastConfig(rc.srv.URL)
	cfg.BatchInterval = 10 * time.Millisecond
	r := startReporter(t, cfg, nil)
	r.Log("job-1", []byte("still running\n"))
	got := rc.waitAccepted(t, 1)
	if got[0].Type != TypeLog || got[0].Data != "still running\n" {
		t.Errorf("got %s, want the log batch", summary(got[0]))
	}
}

func TestUTF8CutKeepsSequencesWhole(t *testing.T) {
	euro := "\u20ac" // 3 bytes
	tests := []struct {
		name  string
		buf   string
		max   int
		final bool
		want  int
	}{
		{"ascii under max", "abc", 8, false, 3},
		{"cut at max", "abcdefgh", 4, false, 4},
		{"complete rune at end", "ab" + euro, 8, false, 5},
		{"partial rune held back", "ab" + euro[:2], 8, false, 2},
		{"partial rune sent when final", "ab" + euro[:2], 8, true, 4},
		{"max falls inside a rune", "ab" + euro + "c", 4, false, 2},
		{"only a partial rune", euro[:1], 8, false, 0},
		{"invalid bytes are not held", "ab\xff", 8, false, 3},
		{"full buffer of one partial rune is cut", euro, 2, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := utf8Cut([]byte(tt.buf), tt.max, tt.final); got != tt.want {
				t.Errorf("utf8Cut(%q, %d, %v) = %d, want %d", tt.buf, tt.max, tt.final, got, tt.want)
			}
		})
	}
}

func TestEventsAfterCloseAreIgnored(t *testing.T) {
	rc := newReceiver(t, nil)
	r := startReporter(t, fastConfig(rc.srv.URL), nil)
	r.Received(testJob("job-1"))
	ctx, cancel := contextWithTimeout(10 * time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	r.Finished("job-1", Finish{Result: queue.StatePassed})
	r.Log("job-1", []byte("late"))
	if got := r.Stats(); got.Ignored != 2 || got.Delivered != 1 {
		t.Errorf("stats %+v, want 2 ignored and 1 delivered", got)
	}
	if got := rc.accepted(); len(got) != 1 || !strings.HasPrefix(summary(got[0]), "received") {
		t.Errorf("receiver got %d events, want only received", len(got))
	}
}

// TestDocsShowTheGoldenBodies keeps the example in docs/JOBS.md true.
func TestDocsShowTheGoldenBodies(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "JOBS.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "events.golden.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(golden)), "\n") {
		if !strings.Contains(string(doc), line+"\n") {
			t.Errorf("docs/JOBS.md lacks the golden body %s", line)
		}
	}
}
