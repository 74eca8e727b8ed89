package report

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fleet-agent/fleet/queue"
)

// TestLifecycleFloodKeepsTheBound floods a reporter whose receiver holds every request with
// whole jobs (received, started, finished; no log): the queue never holds more than
// queue_events, every drop is counted by kind through OnDrop and in Stats, received and started
// go before any finished, what stays queued is the newest jobs' ends, and once the receiver
// answers again the newest job's end is delivered.
func TestLifecycleFloodKeepsTheBound(t *testing.T) {
	block := make(chan struct{})
	rc := newBlockingReceiver(t, nil, block)
	var once sync.Once
	release := func() { once.Do(func() { close(block) }) }
	t.Cleanup(release)
	const bound, jobs = 8, 60
	var mu sync.Mutex
	drops := map[string]int{}
	cfg := fastConfig(rc.srv.URL)
	cfg.QueueEvents = bound
	cfg.OnDrop = func(kind string) {
		mu.Lock()
		drops[kind]++
		mu.Unlock()
	}
	r := startReporter(t, cfg, nil)

	checkBound := func(after string) {
		t.Helper()
		r.mu.Lock()
		n := r.q.len()
		r.mu.Unlock()
		if n > bound {
			t.Fatalf("after %s: %d events queued, over the bound %d", after, n, bound)
		}
	}
	for j := range jobs {
		id := fmt.Sprintf("job-%02d", j)
		r.Received(testJob(id))
		checkBound(id + " received")
		r.Started(id, testStart)
		checkBound(id + " started")
		r.Finished(id, Finish{Result: queue.StatePassed, Attempt: 1})
		checkBound(id + " finished")
	}

	r.mu.Lock()
	for _, it := range r.q.items {
		n, _ := strconv.Atoi(strings.TrimPrefix(it.jobID, "job-"))
		if it.kind != TypeFinished || n < jobs-bound {
			t.Errorf("queued after the flood: %s of %s; want only finished events of the newest %d jobs", it.kind, it.jobID, bound)
		}
	}
	r.mu.Unlock()
	st := r.Stats()
	mu.Lock()
	total := 0
	for _, n := range drops {
		total += n
	}
	if uint64(total) != st.Dropped || st.Dropped == 0 {
		t.Errorf("OnDrop saw %d drops %v, stats say %d; want equal and not zero", total, drops, st.Dropped)
	}
	if uint64(drops[TypeFinished]) != st.DroppedEnds {
		t.Errorf("OnDrop saw %d finished dropped, stats DroppedEnds %d", drops[TypeFinished], st.DroppedEnds)
	}
	if drops[TypeReceived] == 0 || drops[TypeStarted] == 0 {
		t.Errorf("drops by kind %v: want received and started dropped", drops)
	}
	mu.Unlock()

	release()
	last := fmt.Sprintf("job-%02d", jobs-1)
	rc.waitFor(t, "the newest job's end", func() bool {
		for _, req := range rc.all {
			if req.event.Type == TypeFinished && req.event.JobID == last && req.status/100 == 2 {
				return true
			}
		}
		return false
	})
}
