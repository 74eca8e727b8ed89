package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

// TestFleetStatusShowsLeasesAndRecoveredJobsInTextAndJSON: a host whose lease ended has its fresh-heartbeat
// workers shown dead; once a live host's reaper takes its job back, `status --fleet` shows both
// leases (live and ended) and the recovered job with its dead host and new attempt, and
// `status --fleet --json` carries the same leases and recovered jobs.
func TestFleetStatusShowsLeasesAndRecoveredJobsInTextAndJSON(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	open := func(host string) *queue.Client {
		c, err := queue.Open(queue.Config{URL: srv.URL, Host: host, HostLease: 30 * time.Second, HeartbeatInterval: 10 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	live, dead := open("build-01"), open("build-02")
	s, _ := dead.NewSlot("ruby-1", []string{"builds"})
	if err := s.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := live.Submit(ctx, "builds", queue.Args{ID: "job-7", Repository: queue.Repository{Slug: "o/r", URL: "https://example.org/o/r.git"},
		Commit: "0123456789abcdef", Script: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if j, err := s.Fetch(ctx); err != nil || j == nil || j.ID != "job-7" {
		t.Fatalf("fetch: %v, %v", j, err)
	}
	for _, c := range []*queue.Client{live, dead} {
		if err := c.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// build-02's lease ended a minute ago (server time), its last heartbeat is still fresh.
	leases, now, err := queue.ReadLeases(ctx, live.Redis(), "resque")
	if err != nil {
		t.Fatal(err)
	}
	live.Redis().ZAdd(ctx, "resque:fleet:leases", redis.Z{Member: "build-02", Score: float64(now.Add(-time.Minute).UnixMilli())})
	leases, now, _ = queue.ReadLeases(ctx, live.Redis(), "resque")
	workers, err := readFleet(ctx, live.Redis(), "resque", time.Now())
	if err != nil || len(workers) != 1 || workers[0].Dead {
		t.Fatalf("before leases: workers %+v, %v; want build-02's worker with a fresh heartbeat", workers, err)
	}
	markLeaseEnded(workers, leases, now)
	if !workers[0].Dead {
		t.Errorf("worker of build-02 (lease ended) not shown dead")
	}

	if rep, err := live.Recover(ctx); err != nil || rep.Requeued != 1 {
		t.Fatalf("recover = %+v, %v; want one job requeued", rep, err)
	}
	code, stdout, stderr := runCLI(t, "status", "--fleet", "--redis", srv.URL)
	if code != exitOK {
		t.Fatalf("agent status --fleet: exit %d\n%s%s", code, stdout, stderr)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	cases := []struct{ row, want string }{
		{"build-01", "live, ends in"},
		{"build-02", "ENDED 1m"},
		{"job-7", "builds  build-02"},
	}
	for _, c := range cases {
		if !strings.Contains(lines[c.row], c.want) {
			t.Errorf("row %s = %q, want it to contain %q; output:\n%s", c.row, lines[c.row], c.want, stdout)
		}
	}
	if f := strings.Fields(lines["job-7"]); len(f) < 4 || f[3] != "2" {
		t.Errorf("recovered job row %q: want attempt 2", lines["job-7"])
	}

	// The JSON view carries the same leases and recovered jobs.
	code, stdout, stderr = runCLI(t, "status", "--fleet", "--json", "--redis", srv.URL)
	if code != exitOK {
		t.Fatalf("agent status --fleet --json: exit %d\n%s%s", code, stdout, stderr)
	}
	var view struct {
		ServerTime time.Time `json:"server_time"`
		Workers    []struct {
			ID   string `json:"id"`
			Dead bool   `json:"dead"`
		} `json:"workers"`
		Leases []struct {
			Host       string    `json:"host"`
			Until      time.Time `json:"until"`
			Live       bool      `json:"live"`
			EndsInMS   int64     `json:"ends_in_ms"`
			EndedMSAgo int64     `json:"ended_ms_ago"`
		} `json:"leases"`
		Recovered []queue.Recovered `json:"recovered"`
	}
	if err := json.Unmarshal([]byte(stdout), &view); err != nil {
		t.Fatalf("status --fleet --json is not the documented object: %v\n%s", err, stdout)
	}
	if view.ServerTime.IsZero() || len(view.Leases) != 2 {
		t.Fatalf("JSON view: server_time %v, leases %+v; want both hosts' leases", view.ServerTime, view.Leases)
	}
	// Soonest-ending first: the ended lease of build-02, then build-01's live one.
	ended, alive := view.Leases[0], view.Leases[1]
	if ended.Host != "build-02" || ended.Live || ended.EndedMSAgo < 59_000 || ended.EndsInMS != 0 {
		t.Errorf("lease of build-02 = %+v; want ended about a minute ago", ended)
	}
	if alive.Host != "build-01" || !alive.Live || alive.EndsInMS <= 0 || alive.EndsInMS > 30_000 || !alive.Until.After(view.ServerTime) {
		t.Errorf("lease of build-01 = %+v; want live, ending within 30s", alive)
	}
	if len(view.Recovered) != 1 || view.Recovered[0].JobID != "job-7" || view.Recovered[0].DeadHost != "build-02" || view.Recovered[0].Attempt != 2 {
		t.Errorf("recovered = %+v; want job-7 from build-02, attempt 2", view.Recovered)
	}
	if view.Workers == nil {
		t.Errorf("workers is null, want a list")
	}
}
