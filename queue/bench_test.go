package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// runSlots starts n registered slots that fetch and finish jobs until ctx
// ends, calling onFetch for each job fetched. It returns a wait function.
func runSlots(b *testing.B, e *testEnv, c *Client, ctx context.Context, n int, onFetch func(*Job)) func() {
	b.Helper()
	var wg sync.WaitGroup
	for i := range n {
		s := e.slot(b, c, fmt.Sprint(i), "bench")
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

// BenchmarkPickupLatency measures enqueue-to-fetched time for 1,000 jobs
// submitted one at a time while 4 slots are blocked waiting for work.
// Repeat with: go test -run '^$' -bench PickupLatency -benchtime 1x ./queue/
func BenchmarkPickupLatency(b *testing.B) {
	const jobs, slots = 1000, 4
	e := newEnv(b)
	c := e.client(b, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	fetched := make(chan time.Time, 1)
	wait := runSlots(b, e, c, ctx, slots, func(*Job) { fetched <- time.Now() })
	defer func() { cancel(); wait() }()
	payloads := make([][]byte, jobs)
	for i := range payloads {
		payloads[i], _ = Encode("bench", testArgs(fmt.Sprintf("lat-%d", i)))
	}
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		lat = lat[:0]
		for _, p := range payloads {
			// Let every slot get back into BLMOVE between jobs.
			waitBlocked(b, e, slots)
			start := time.Now()
			if err := e.rdb.RPush(ctx, "resque:queue:bench", p).Err(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, (<-fetched).Sub(start))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// waitBlocked waits until n clients are blocked in BLMOVE.
func waitBlocked(b *testing.B, e *testEnv, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := e.rdb.Info(context.Background(), "clients").Result()
		if err != nil {
			b.Fatal(err)
		}
		var blocked int
		for _, line := range splitLines(info) {
			if _, err := fmt.Sscanf(line, "blocked_clients:%d", &blocked); err == nil {
				break
			}
		}
		if blocked >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d slots blocked", blocked, n)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
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
