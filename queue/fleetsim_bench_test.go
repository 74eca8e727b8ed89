package queue

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// simQueues are the three priority queues every simulated pool serves.
var simQueues = []string{"high", "mid", "low"}

// BenchmarkFleetSim runs N simulated hosts (a Client each, with its own
// connection pool and host name, 32 slots on queues high, mid, low, and a
// fake job that holds its slot for simHold) against one real redis-server,
// and reports per N: Redis connections per host, commands/s per host idle
// and under load (INFO commandstats, script-internal calls included),
// redis-server CPU under load (INFO cpu), pickup p50/p99 on the first and
// the last queue, and jobs/s end to end. Every simulated host runs in this
// one process, so the Go side competes with redis-server for the CPU.
// FLEET_SIM_HOSTS (default "10,100") lists the fleet sizes, e.g. "10,100,300".
// Repeat with: go test -run '^$' -bench FleetSim -benchtime 1x -timeout 15m ./queue/
func BenchmarkFleetSim(b *testing.B) {
	sizes := cmp.Or(os.Getenv("FLEET_SIM_HOSTS"), "10,100")
	for f := range strings.SplitSeq(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("FLEET_SIM_HOSTS=%q: %q is not a number of hosts", sizes, f)
		}
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			for range b.N {
				fleetSim(b, n)
			}
		})
	}
}

const (
	simSlots = 32
	simHold  = 2 * time.Second
	simLoad  = 5 * time.Second
	simIdle  = 3 * time.Second
)

type simJob struct {
	queue    string
	submit   time.Time
	fetched  time.Time
	finished time.Time
}

func fleetSim(b *testing.B, hosts int) {
	e := newEnv(b)
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu   sync.Mutex
		jobs = map[string]*simJob{}
		wg   sync.WaitGroup
		// clients are the simulated hosts.
		clients []*Client
	)
	defer func() { cancel(); wg.Wait() }()
	for h := range hosts {
		name := fmt.Sprintf("sim-%03d", h)
		c := hostClient(b, e, name)
		clients = append(clients, c)
		// The lease first, or another host's reaper takes the new workers for dead.
		if err := c.Heartbeat(ctx); err != nil {
			b.Fatal(err)
		}
		// A fake job holds its slot for simHold; "finished" is when it lets go.
		wg.Go(runSlots(b, e, c, ctx, simSlots, func(j *Job) {
			mu.Lock()
			sj := jobs[j.ID]
			if sj != nil {
				sj.fetched = time.Now()
			}
			mu.Unlock()
			_ = sleep(ctx, simHold)
			mu.Lock()
			if sj != nil {
				sj.finished = time.Now()
			}
			mu.Unlock()
		}, simQueues...))
	}
	for _, c := range clients {
		wg.Go(func() { _ = c.Run(ctx) })
	}
	// Every slot registered (Register is synchronous); give them a moment
	// to reach their host's fetcher.
	if v, _ := e.rdb.HLen(context.Background(), "resque:workers:heartbeat").Result(); int(v) != hosts*simSlots {
		b.Fatalf("%d workers registered, want %d", v, hosts*simSlots)
	}
	time.Sleep(time.Second) // every slot back at its fetcher

	conns := connections(b, e.rdb, "sim-")
	c0 := commandCount(b, e.rdb)
	time.Sleep(simIdle)
	idle := float64(commandCount(b, e.rdb)-c0) / simIdle.Seconds()

	// Load: an open loop at half the fleet's capacity, at most 300 jobs/s
	// (the submitter shares this process and its two cores).
	rate := min(float64(hosts*simSlots)/simHold.Seconds()/2, 300)
	sub, err := New(e.rdb, Config{Host: "submitter"}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := redisCPU(b, e.rdb)
	c0 = commandCount(b, e.rdb)
	start := time.Now()
	// Several submitters, so that Submit's round trips do not bound the rate.
	const submitters = 8
	interval := time.Duration(float64(time.Second) * submitters / rate)
	var subWG sync.WaitGroup
	var submitted atomic.Int64
	for w := range submitters {
		subWG.Go(func() {
			for i, next := 0, start.Add(interval*time.Duration(w)/submitters); time.Since(start) < simLoad; i, next = i+1, next.Add(interval) {
				time.Sleep(time.Until(next))
				id := fmt.Sprintf("sim-%d-%d", w, i)
				sj := &simJob{queue: simQueues[(i*submitters+w)%len(simQueues)], submit: time.Now()}
				mu.Lock()
				jobs[id] = sj
				mu.Unlock()
				if _, err := sub.Submit(ctx, sj.queue, testArgs(id)); err != nil {
					b.Error(err)
					return
				}
				submitted.Add(1)
			}
		})
	}
	subWG.Wait()
	// Let the last jobs finish.
	waitFor(b, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, sj := range jobs {
			if sj.finished.IsZero() {
				return false
			}
		}
		return true
	})
	elapsed := time.Since(start)
	loaded := float64(commandCount(b, e.rdb)-c0) / elapsed.Seconds()
	cpu := (redisCPU(b, e.rdb) - cpu0) / elapsed.Seconds()

	lat := map[string][]time.Duration{}
	var first, last time.Time
	for _, sj := range jobs {
		lat[sj.queue] = append(lat[sj.queue], sj.fetched.Sub(sj.submit))
		if sj.finished.After(last) {
			last = sj.finished
		}
		if first.IsZero() || sj.finished.Before(first) {
			first = sj.finished
		}
	}
	pct := func(q string, p int) float64 {
		l := lat[q]
		slices.Sort(l)
		return float64(l[len(l)*p/100].Microseconds()) / 1000
	}
	b.ReportMetric(float64(conns)/float64(hosts), "conns/host")
	b.ReportMetric(idle/float64(hosts), "idle-cmds/s/host")
	b.ReportMetric(idle, "idle-cmds/s")
	b.ReportMetric(loaded, "loaded-cmds/s")
	b.ReportMetric(cpu*100, "redis-cpu-%")
	b.ReportMetric(pct("high", 50), "p50-ms-first")
	b.ReportMetric(pct("high", 99), "p99-ms-first")
	b.ReportMetric(pct("low", 50), "p50-ms-last")
	b.ReportMetric(pct("low", 99), "p99-ms-last")
	// Completions per second between the first and the last one.
	b.ReportMetric(float64(len(jobs)-1)/last.Sub(first).Seconds(), "jobs/s")
}

// redisCPU is redis-server's used CPU time so far, in seconds.
func redisCPU(b *testing.B, rdb *redis.Client) float64 {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for line := range strings.Lines(info) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("INFO cpu %q: %v", line, err)
			}
			total += f
		}
	}
	return total
}
