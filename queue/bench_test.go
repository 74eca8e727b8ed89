package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// runSlots starts n registered slots (on queues, default "bench") that
// fetch and finish jobs until ctx ends, calling onFetch for each job
// fetched. It returns a wait function.
func runSlots(b *testing.B, e *testEnv, c *Client, ctx context.Context, n int, onFetch func(*Job), queues ...string) func() {
	b.Helper()
	if len(queues) == 0 {
		queues = []string{"bench"}
	}
	var wg sync.WaitGroup
	for i := range n {
		s := e.slot(b, c, fmt.Sprint(i), queues...)
		wg.Go(func() {
			for {
				j, err := s.Fetch(ctx)
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						b.Errorf("fetch: %v", err)
					}
					return
				}
				onFetch(j)
				if err := s.Finish(context.Background(), j, Result{State: StatePassed}); err != nil {
					b.Errorf("finish: %v", err)
					return
				}
			}
		})
	}
	return wg.Wait
}

// BenchmarkPickupLatency measures enqueue-to-fetched time with 4 slots of
// one pool (queues high, mid, low) waiting at the host fetcher, one job at a
// time: on the first and the last queue submitted by Submit (which notifies
// the fetcher), and on the last queue pushed by a plain Resque client (RPUSH
// only: the fetcher's poll finds it).
// Repeat with: go test -run '^$' -bench PickupLatency -benchtime 1x ./queue/
func BenchmarkPickupLatency(b *testing.B) {
	const slots = 4
	for _, bc := range []struct {
		name  string
		queue string
		jobs  int
		plain bool
	}{
		{"first_queue", "high", 1000, false},
		{"last_queue", "low", 1000, false},
		{"last_queue_plain_rpush", "low", 40, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b)
			c := e.client(b, Config{})
			ctx, cancel := context.WithCancel(context.Background())
			fetched := make(chan time.Time, 1)
			wait := runSlots(b, e, c, ctx, slots, func(*Job) { fetched <- time.Now() }, "high", "mid", "low")
			defer func() { cancel(); wait() }()
			var lat []time.Duration
			b.ResetTimer()
			for n := range b.N {
				lat = lat[:0]
				for i := range bc.jobs {
					// Let every slot get back to the fetcher between jobs.
					waitWaiting(b, c, slots)
					id := fmt.Sprintf("lat-%d-%d", n, i)
					start := time.Now()
					if bc.plain {
						// A plain client's push lands at any point of the
						// fetcher's poll cycle.
						time.Sleep(rand.N(c.cfg.FetchPoll))
						start = time.Now()
						p, _ := Encode(bc.queue, testArgs(id))
						if err := e.rdb.RPush(ctx, "resque:queue:"+bc.queue, p).Err(); err != nil {
							b.Fatal(err)
						}
					} else if _, err := c.Submit(ctx, bc.queue, testArgs(id)); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, (<-fetched).Sub(start))
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// waitWaiting waits until n slots wait at c's host fetcher.
func waitWaiting(b *testing.B, c *Client, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for c.fetcher.waitingSlots() < n {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d slots waiting", c.fetcher.waitingSlots(), n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// BenchmarkEmptyJobThroughput measures fetch+finish of empty jobs with 4
// slots draining a pre-filled queue; the jobs/s metric is the figure.
// Repeat with: go test -run '^$' -bench EmptyJobThroughput -benchtime 5000x ./queue/
func BenchmarkEmptyJobThroughput(b *testing.B) {
	const slots = 4
	e := newEnv(b)
	c := e.client(b, Config{})
	ctx := context.Background()
	pipe := e.rdb.Pipeline()
	for i := range b.N {
		p, _ := Encode("bench", testArgs(fmt.Sprintf("tp-%d", i)))
		pipe.RPush(ctx, "resque:queue:bench", p)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	done := 0
	all := make(chan struct{})
	rctx, cancel := context.WithCancel(ctx)
	b.ResetTimer()
	start := time.Now()
	wait := runSlots(b, e, c, rctx, slots, func(*Job) {
		mu.Lock()
		defer mu.Unlock()
		done++
		if done == b.N {
			close(all)
		}
	})
	<-all
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	wait()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
}

// BenchmarkHostFetcher32Workers measures one host's Redis cost with 32 idle
// workers of one pool (queues high, mid, low) waiting at the host fetcher
// and the heartbeat loop running: connections (CLIENT LIST) and commands/s
// (INFO commandstats, script-internal calls included) over 3 s.
// Repeat with: go test -run '^$' -bench HostFetcher32Workers -benchtime 1x ./queue/
func BenchmarkHostFetcher32Workers(b *testing.B) {
	const window = 3 * time.Second
	for range b.N {
		e := newEnv(b)
		c := hostClient(b, e, "bench-host")
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { _ = c.Run(ctx) })
		var slots []*Slot
		for i := range 32 {
			slots = append(slots, e.slot(b, c, strconv.Itoa(i), "high", "mid", "low"))
		}
		waitSlots(b, c, ctx, slots)
		time.Sleep(time.Second) // past Run's first heartbeat and recovery
		conns := connections(b, e.rdb, "bench-host")
		before := commandCount(b, e.rdb)
		time.Sleep(window)
		idle := float64(commandCount(b, e.rdb)-before) / window.Seconds()
		cancel()
		wg.Wait()
		b.ReportMetric(float64(conns), "conns/host")
		b.ReportMetric(idle, "idle-cmds/s/host")
	}
}
