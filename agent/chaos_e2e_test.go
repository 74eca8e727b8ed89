package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

// chaosJobs is how many jobs TestChaos submits: FLEET_CHAOS_JOBS (make chaos sets a few
// hundred), else a number that keeps the test near a minute in make test.
func chaosJobs(t *testing.T) int {
	if v := os.Getenv("FLEET_CHAOS_JOBS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 8 {
			t.Fatalf("FLEET_CHAOS_JOBS=%q: want a number >= 8", v)
		}
		return n
	}
	return 40
}

// TestChaosEveryJobEndsExactlyOnce: four agents with distinct host names share one Redis
// (lease 3s, append-only file) and work through short jobs. One host is SIGKILLed for good
// while it runs a job; redis-server is killed while jobs run and restarted 4s later (longer
// than the lease: results wait in the agents' outboxes, nobody reaps a live host); another
// host is SIGSTOPped while it runs a job until the others have taken it back, then
// SIGCONTinued. In the end every job passed, Resque counted exactly one result per job (a stale
// attempt's result is discarded), nothing is left queued or in a processing list, and only the
// live hosts' workers are registered.
func TestChaosEveryJobEndsExactlyOnce(t *testing.T) {
	n := chaosJobs(t)
	names := []string{"chaos-a", "chaos-b", "chaos-c", "chaos-d"}
	hosts := make([]*host, len(names))
	for i := range hosts {
		hosts[i] = newHost(t)
	}
	srv := hosts[0]
	// The shared Redis keeps its data across the restart below, as a production one with
	// persistence does.
	rsrv := persistentQueue(t, srv)
	for i, h := range hosts {
		h.writeRaw(leaseFleet(h, names[i], rsrv.URL))
		h.start()
	}
	for i, h := range hosts {
		h.until(names[i]+" serving", func(st *control.Status) bool { return len(servingVMs(st)) == 1 })
	}
	ctx := context.Background()
	rdb := srv.tq.Redis()
	for i := range n {
		if _, err := srv.tq.Submit(ctx, "builds", queue.Args{ID: fmt.Sprintf("chaos-%03d", i),
			Repository: queue.Repository{Slug: "fleet/e2e", URL: srv.repoURL}, Commit: srv.commit, Branch: "main",
			Script: []string{fmt.Sprintf("echo chaos %d", i), "sleep 0.5"}}); err != nil {
			t.Fatal(err)
		}
	}
	processed := func() int {
		v, _ := rdb.Get(ctx, "resque:stat:processed").Int()
		return v
	}
	// freezeWithJob waits for at least done results, then SIGSTOPs h's whole process group at a
	// moment its worker holds a job in its processing list (retrying at once when it holds
	// none), so that the host is frozen or killed mid-job, never between jobs.
	freezeWithJob := func(h *host, name string, done int) int {
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			if processed() < done {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			syscall.Kill(-h.proc.Process.Pid, syscall.SIGSTOP)
			held := 0
			iter := rdb.Scan(ctx, 0, "resque:fleet:processing:"+name+":*", 100).Iterator()
			for iter.Next(ctx) {
				held += int(rdb.LLen(ctx, iter.Val()).Val())
			}
			if held > 0 {
				return held
			}
			syscall.Kill(-h.proc.Process.Pid, syscall.SIGCONT)
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s held no job after %d results within 3 minutes", name, done)
		return 0
	}
	// recoveredFrom waits until a job of host name has been recovered and says how long after since.
	recoveredFrom := func(name string, since time.Time) time.Duration {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			recs, _ := queue.ReadRecovered(ctx, rdb, "resque", 1000)
			for _, r := range recs {
				if r.DeadHost == name {
					return time.Since(since)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no job of %s recovered within 2 minutes", name)
		return 0
	}

	killed := hosts[0]
	held := freezeWithJob(killed, names[0], n/4)
	syscall.Kill(-killed.proc.Process.Pid, syscall.SIGKILL)
	at := time.Now()
	killed.waitExit()
	t.Logf("SIGKILL %s holding %d job(s): recovered by another host after %s", names[0], held, recoveredFrom(names[0], at).Round(100*time.Millisecond))

	// Redis goes away for longer than the lease while jobs run (at a moment some payload is in a
	// processing list), and comes back with its data.
	for processed() < 2*n/5 {
		time.Sleep(100 * time.Millisecond)
	}
	inFlight := 0
	var iter *redis.ScanIterator
	for deadline := time.Now().Add(time.Minute); inFlight == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		iter = rdb.Scan(ctx, 0, "resque:fleet:processing:*", 100).Iterator()
		for iter.Next(ctx) {
			inFlight += int(rdb.LLen(ctx, iter.Val()).Val())
		}
	}
	before := processed()
	rsrv.Kill()
	down := time.Now()
	time.Sleep(4 * time.Second)
	rsrv.Restart()
	back := time.Now()
	for processed() <= before {
		if time.Since(back) > 2*time.Minute {
			t.Fatal("no result recorded within 2 minutes of redis-server's restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	firstResult := time.Since(back)
	// Every host still alive renews its lease (the first fetch, heartbeat and outbox delivery
	// follow the same backoff).
	for {
		leases, now, err := queue.ReadLeases(ctx, rdb, "resque")
		renewed := 0
		for _, l := range leases {
			if l.Host != names[0] && err == nil && l.Until.Sub(now) > 2*time.Second {
				renewed++
			}
		}
		if renewed == 3 {
			break
		}
		if time.Since(back) > 2*time.Minute {
			t.Fatalf("the live hosts did not all renew their leases within 2 minutes of the restart: %v", leases)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("redis-server killed with %d job(s) in processing lists, restarted after %s: first result recorded %s later, every live lease renewed %s later",
		inFlight, back.Sub(down).Round(100*time.Millisecond), firstResult.Round(time.Millisecond), time.Since(back).Round(time.Millisecond))

	stopped := hosts[1]
	held = freezeWithJob(stopped, names[1], 3*n/5)
	at = time.Now()
	t.Logf("SIGSTOP %s holding %d job(s): recovered by another host after %s, then SIGCONT", names[1], held, recoveredFrom(names[1], at).Round(100*time.Millisecond))
	syscall.Kill(-stopped.proc.Process.Pid, syscall.SIGCONT)

	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("chaos-%03d", i)
	}
	for _, id := range ids {
		srv.waitJob(id, queue.StatePassed)
	}
	// Only the three live hosts' workers, the continued one registered again.
	live := map[string]bool{names[1]: true, names[2]: true, names[3]: true}
	var workers []string
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		workers, _ = rdb.SMembers(ctx, "resque:workers").Result()
		seen := map[string]bool{}
		ok := true
		for _, w := range workers {
			h, _, _ := strings.Cut(w, ":")
			ok = ok && live[h]
			seen[h] = true
		}
		if ok && len(seen) == len(live) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, w := range workers {
		if h, _, _ := strings.Cut(w, ":"); !live[h] {
			t.Errorf("worker %s of a dead host still registered (workers %v)", w, workers)
		}
	}
	if len(workers) != len(live) {
		t.Errorf("registered workers %v, want one per live host %v", workers, live)
	}
	// No agent crashed through it all.
	for i, h := range hosts[1:] {
		select {
		case <-h.exited:
			t.Errorf("agent %s exited before the end of the test", names[i+1])
		default:
		}
	}
	// Stop the live agents cleanly: after that no result can arrive any more.
	for _, h := range hosts[1:] {
		h.signal(syscall.SIGTERM)
	}
	for _, h := range hosts[1:] {
		h.waitExit()
	}
	counts := map[string]int{}
	counts["processed"] = processed()
	counts["in processing lists"] = 0
	counts["queued"] = int(rdb.LLen(ctx, "resque:queue:builds").Val())
	iter = rdb.Scan(ctx, 0, "resque:fleet:processing:*", 100).Iterator()
	for iter.Next(ctx) {
		counts["in processing lists"] += int(rdb.LLen(ctx, iter.Val()).Val())
	}
	counts["failed"], _ = rdb.Get(ctx, "resque:stat:failed").Int()
	recs, _ := rdb.LRange(ctx, "resque:fleet:recovered", 0, -1).Result()
	counts["recovered"] = len(recs)
	attempts := map[int]int{}
	for _, id := range ids {
		st := srv.job(id)
		if st.State != queue.StatePassed {
			t.Errorf("job %s = %s, want passed", id, st.State)
		}
		attempts[st.Attempt]++
	}
	b, _ := json.Marshal(attempts)
	t.Logf("%d jobs: counts %v; jobs by final attempt %s", n, counts, b)
	want := map[string]int{"processed": n, "queued": 0, "in processing lists": 0, "failed": 0}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s = %d, want %d", k, counts[k], v)
		}
	}
	if b, _ := os.ReadFile(stopped.logPath); !strings.Contains(string(b), "stale_attempt_discarded") {
		t.Errorf("%s, continued after its job was taken over, logged no stale_attempt_discarded", names[1])
	}
	kept, delivered := 0, 0
	for _, h := range hosts[1:] {
		b, _ := os.ReadFile(h.logPath)
		kept += strings.Count(string(b), "result_kept_in_outbox")
		delivered += strings.Count(string(b), "outbox_delivered")
	}
	t.Logf("results kept in an outbox while Redis was down: %d, delivered from it: %d", kept, delivered)
	if delivered > kept {
		t.Errorf("%d outbox deliveries for %d kept results", delivered, kept)
	}
	if counts["recovered"] < 2 {
		t.Errorf("recovered records = %d, want at least one per host death (2)", counts["recovered"])
	}
}
