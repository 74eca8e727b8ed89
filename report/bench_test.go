package report

import (
	"testing"

	"github.com/fleet-agent/fleet/queue"
)

// The enqueue path is what a build pays for reporting. These benchmarks
// run without Run, so the queue sits at its bound and every batch cut also
// pays for a drop: the dead-receiver worst case.

func benchReporter(b *testing.B) *Reporter {
	r, err := New(Config{URL: "http://127.0.0.1:1/hook", Token: "t"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkLog1KiB(b *testing.B) {
	r := benchReporter(b)
	chunk := make([]byte, 1<<10)
	b.SetBytes(int64(len(chunk)))
	for b.Loop() {
		r.Log("job-1", chunk)
	}
}

func BenchmarkLogParallel(b *testing.B) {
	r := benchReporter(b)
	chunk := make([]byte, 256)
	b.SetBytes(int64(len(chunk)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Log("job-1", chunk)
		}
	})
}

func BenchmarkStartedFinished(b *testing.B) {
	r := benchReporter(b)
	for b.Loop() {
		// Past twice the bound each push scans for a lifecycle event to
		// drop; a healthy reporter never gets there.
		r.mu.Lock()
		if r.q.len() > r.cfg.QueueEvents {
			r.q = newEventQueue(r.cfg.QueueEvents, r.cfg.QueueBytes)
		}
		r.mu.Unlock()
		r.Started("job-1", testStart)
		r.Finished("job-1", Finish{Result: queue.StatePassed})
	}
}
