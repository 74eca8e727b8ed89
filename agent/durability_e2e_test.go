package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

// leaseFleet renders h's fleet.hcl for a fleet sharing the Redis at redisURL, under host name
// name, with a short host lease so that a dead host's jobs come back within seconds.
func leaseFleet(h *host, name, redisURL string) string {
	s := h.render(fleetCfg{vms: 1})
	return leaseFleetText(s, h, name, redisURL)
}

func leaseFleetText(s string, h *host, name, redisURL string) string {
	s = strings.Replace(s, `name      = "e2e-host"`, fmt.Sprintf("name      = %q", name), 1)
	s = strings.Replace(s, fmt.Sprintf("queue { redis = %q }", h.redis.URL),
		fmt.Sprintf("queue {\n  redis      = %q\n  host_lease = \"3s\"\n  heartbeat  = \"1s\"\n}", redisURL), 1)
	return s
}

// TestE2EJobOfAHostKilledForGoodFinishesOnTheOtherHost: two hosts share one Redis; the host
// running a job is SIGKILLed and never comes back. Once its lease ends the other host's reaper
// requeues the job (attempt 2), the job passes there, `agent logs --follow` started before the
// death ends with the passing result, and the dead host's worker leaves resque:workers.
func TestE2EJobOfAHostKilledForGoodFinishesOnTheOtherHost(t *testing.T) {
	a, b := newHost(t), newHost(t)
	hosts := map[string]*host{"e2e-a": a, "e2e-b": b}
	for name, h := range hosts {
		h.writeRaw(leaseFleet(h, name, a.redis.URL))
		h.start()
	}
	for name, h := range hosts {
		h.until(name+" serving", func(st *control.Status) bool { return len(servingVMs(st)) == 1 })
	}
	const id = "durable-1"
	a.submit(id)
	var dead, live string
	deadline := time.Now().Add(60 * time.Second)
	for dead == "" && time.Now().Before(deadline) {
		for name, h := range hosts {
			if st, err := h.status(); err == nil && runningOn(st, id) != "" {
				dead = name
			}
		}
		time.Sleep(150 * time.Millisecond)
	}
	if dead == "" {
		t.Fatalf("%s did not start on either host within 60s", id)
	}
	for name := range hosts {
		if name != dead {
			live = name
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	follow := exec.CommandContext(ctx, a.bin, "logs", "--redis", a.redis.URL, "--follow", id)
	var out strings.Builder
	follow.Stdout, follow.Stderr = &out, &out
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	followed := make(chan error, 1)
	go func() { followed <- follow.Wait() }()

	rdb := a.tq.Redis()
	deadWorkers := func() []string {
		t.Helper()
		ws, err := rdb.SMembers(context.Background(), "resque:workers").Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, w := range ws {
			if strings.HasPrefix(w, dead+":") {
				out = append(out, w)
			}
		}
		return out
	}
	if len(deadWorkers()) == 0 {
		t.Fatalf("no worker of %s in resque:workers while it runs %s", dead, id)
	}
	hosts[dead].signal(syscall.SIGKILL)
	hosts[dead].waitExit()
	hosts[live].until(id+" running on "+live, func(st *control.Status) bool { return runningOn(st, id) != "" })
	a.release(id)
	js := a.waitJob(id, queue.StatePassed)
	if js.Attempt != 2 {
		t.Errorf("%s attempt = %d, want 2 (requeued once from the dead host)", id, js.Attempt)
	}
	if err := <-followed; err != nil {
		t.Errorf("agent logs --follow: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "done "+id) {
		t.Errorf("agent logs --follow output lacks the job's end:\n%s", out.String())
	}
	if want := "job " + id + " passed; result of attempt 2 on host " + live; !strings.Contains(out.String(), want) {
		t.Errorf("agent logs --follow output lacks %q:\n%s", want, out.String())
	}

	left := deadWorkers()
	for end := time.Now().Add(30 * time.Second); len(left) != 0 && time.Now().Before(end); left = deadWorkers() {
		time.Sleep(200 * time.Millisecond)
	}
	if len(left) != 0 {
		t.Errorf("dead host %s's workers still in resque:workers: %v", dead, left)
	}
	recs, err := rdb.LRange(context.Background(), "resque:fleet:recovered", 0, -1).Result()
	if err != nil || len(recs) != 1 || !strings.Contains(recs[0], `"dead_host":"`+dead+`"`) {
		t.Errorf("resque:fleet:recovered = %q (err %v), want one record naming %s", recs, err, dead)
	}
	if b, _ := os.ReadFile(hosts[live].logPath); !strings.Contains(string(b), "job_recovered") {
		t.Errorf("%s logged no job_recovered line", live)
	}

	// A clean stop releases the lease at once.
	hosts[live].signal(syscall.SIGTERM)
	if code := hosts[live].waitExit(); code != 0 {
		t.Errorf("%s exit code after SIGTERM = %d, want 0", live, code)
	}
	if _, err := rdb.ZScore(context.Background(), "resque:fleet:leases", live).Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("%s's lease after a clean stop: %v, want it removed", live, err)
	}
}

// persistentQueue gives h's test a redis-server that keeps its data across Kill and Restart
// (append-only file), with h's submitting client on it. Fleets pass its URL to leaseFleet.
func persistentQueue(t *testing.T, h *host) *redistest.Server {
	t.Helper()
	rsrv := redistest.StartPersistent(t)
	tq, err := queue.Open(queue.Config{URL: rsrv.URL, Host: "e2e-submitter"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tq.Close() })
	h.tq = tq
	return rsrv
}

// TestE2EJobOfAHostEndedWhileRedisWasDownIsDelivered: a job ends while
// redis-server is down, so `agent run` keeps its result in the outbox in state_dir; the agent
// is then SIGKILLed. Once Redis is back, the next `agent run` on the host delivers the result:
// the job passed as attempt 1, counted once, and nothing was requeued or recovered.
func TestE2EJobOfAHostEndedWhileRedisWasDownIsDelivered(t *testing.T) {
	h := newHost(t)
	rsrv := persistentQueue(t, h)
	h.writeRaw(leaseFleet(h, "e2e-outbox", rsrv.URL))
	h.start()
	h.until("serving", func(st *control.Status) bool { return len(servingVMs(st)) == 1 })
	const id = "outbox-1"
	h.submit(id)
	h.until(id+" running", func(st *control.Status) bool { return runningOn(st, id) != "" })

	rsrv.Kill()
	h.release(id)
	firstLog := h.logPath
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if b, _ := os.ReadFile(firstLog); strings.Contains(string(b), "result_kept_in_outbox") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the agent logged no result_kept_in_outbox within 90s of the job's end with Redis down")
		}
	}
	h.signal(syscall.SIGKILL)
	h.waitExit()
	rsrv.Restart()

	h.start()
	js := h.waitJob(id, queue.StatePassed)
	if js.Attempt != 1 {
		t.Errorf("%s attempt = %d, want 1 (the result of the first run, delivered from the outbox)", id, js.Attempt)
	}
	rdb := h.tq.Redis()
	ctx := context.Background()
	if n, err := rdb.Get(ctx, "resque:stat:processed").Int(); err != nil || n != 1 {
		t.Errorf("resque:stat:processed = %d, %v; want 1", n, err)
	}
	if n := rdb.LLen(ctx, "resque:fleet:recovered").Val(); n != 0 {
		t.Errorf("resque:fleet:recovered holds %d records: the job was taken back instead of delivered", n)
	}
	if n := rdb.LLen(ctx, "resque:queue:builds").Val(); n != 0 {
		t.Errorf("builds holds %d payloads: the job was requeued", n)
	}
	if b, _ := os.ReadFile(h.logPath); !strings.Contains(string(b), "outbox_delivered") {
		t.Errorf("the restarted agent logged no outbox_delivered")
	}
}
