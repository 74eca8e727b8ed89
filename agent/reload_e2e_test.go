package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/report"
)

// freeAddr returns a loopback address nothing listens on (it was free a moment ago).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape GETs /metrics on addr and reports whether it answered with the agent's metrics.
func scrape(addr string) bool {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), "fleet_reconcile_passes_total")
}

// httpStatus GETs url and returns the status, 0 when there was no answer.
func httpStatus(url string) int {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestE2EReloadLiveEditsWhileJobRuns: on the simulator, with a job running, saved edits of the
// metrics, web, report, reconcile and queue blocks are taken live: the metrics listener and
// the dashboard start and serve (the dashboard then follows the moved queue), a new report endpoint receives the running job's end, a metrics address already in
// use rejects the edit on metrics.listen and the old listener keeps serving, and the queue moves
// to a second redis-server: the running job is recorded on the old one, the next job comes from
// the new one. No job is lost.
func TestE2EReloadLiveEditsWhileJobRuns(t *testing.T) {
	rc := &receiver{t: t, token: "tok-reload", secret: "sig-reload"}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	h := newHost(t)
	h.write(fleetCfg{vms: 1})
	h.start()
	h.until("ruby-1 serving", func(st *control.Status) bool { return slices.Equal(servingVMs(st), []string{"ruby-1"}) })
	h.submit("live-1")
	h.until("live-1 running", func(st *control.Status) bool { return runningOn(st, "live-1") == "ruby-1" })

	metricsAddr, webAddr := freeAddr(t), freeAddr(t)
	blocks := func(metrics string) string {
		return "metrics { listen = \"" + metrics + "\" }\nweb { listen = \"" + webAddr + "\" }\nreport \"http\" {\n  url = \"" + srv.URL + "/hook\"\n  token = \"tok-reload\"\n  secret = \"sig-reload\"\n  batch_interval = \"100ms\"\n  min_backoff = \"50ms\"\n}\n"
	}
	edit := func(what, src string, ok func(*control.Status) bool) *control.Status {
		t.Helper()
		before, err := h.status()
		if err != nil {
			t.Fatal(err)
		}
		h.writeRaw(src)
		return h.until(what, func(st *control.Status) bool {
			return (st.Spec.Hash != before.Spec.Hash || st.Rejected != nil && (before.Rejected == nil || st.Rejected.At.After(before.Rejected.At))) && ok(st)
		})
	}
	accepted := func(st *control.Status) bool { return st.Rejected == nil }

	// metrics, report and reconcile at once.
	base := strings.Replace(h.render(fleetCfg{vms: 1}), `resync = "5s"`, `resync = "2s"`, 1)
	st := edit("metrics, report and resync edit in force", base+blocks(metricsAddr), accepted)
	if runningOn(st, "live-1") != "ruby-1" {
		t.Fatalf("live-1 no longer running after the edit: %+v", st.VMs)
	}
	if !scrape(metricsAddr) {
		t.Fatalf("metrics not served on %s after the edit", metricsAddr)
	}
	if got := httpStatus("http://" + webAddr + "/jobs/live-1"); got != http.StatusOK {
		t.Fatalf("dashboard started live: /jobs/live-1 = %d, want 200", got)
	}

	// A metrics address in use: rejected on metrics.listen, the old listener keeps serving.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	st = edit("busy metrics address rejected", base+blocks(busy.Addr().String()), func(st *control.Status) bool { return st.Rejected != nil })
	for _, want := range []string{"Error: Edit not applied", "metrics.listen changed", "on " + h.fleet + " line "} {
		if !strings.Contains(st.Rejected.Diagnostics, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, st.Rejected.Diagnostics)
		}
	}
	if !scrape(metricsAddr) {
		t.Errorf("old metrics listener %s stopped after a rejected edit", metricsAddr)
	}

	// The queue moves to a second redis-server.
	other := redistest.Start(t)
	oq, err := queue.Open(queue.Config{URL: other.URL, Host: "e2e-submitter"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer oq.Close()
	edit("queue move in force", strings.Replace(base, h.redis.URL, other.URL, 1)+blocks(metricsAddr), accepted)
	h.release("live-1")
	h.waitJob("live-1", queue.StatePassed)
	if _, err := oq.Submit(context.Background(), "builds", queue.Args{ID: "live-2",
		Repository: queue.Repository{Slug: "fleet/e2e", URL: h.repoURL}, Commit: h.commit, Branch: "main",
		Script: []string{"echo live-2"}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		s, err := oq.JobStatus(context.Background(), "live-2")
		if err == nil && s.State == queue.StatePassed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live-2 on the new Redis: not passed within 90s (%+v, %v)", s, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The dashboard follows the queue: live-2 exists only on the new Redis.
	if got := httpStatus("http://" + webAddr + "/jobs/live-2"); got != http.StatusOK {
		t.Errorf("dashboard after the queue move: /jobs/live-2 = %d, want 200 (it reads the new Redis)", got)
	}
	for _, id := range []string{"live-1", "live-2"} {
		for {
			evs := rc.of(id)
			if len(evs) > 0 && evs[len(evs)-1].Type == report.TypeFinished {
				if evs[len(evs)-1].Result != string(queue.StatePassed) {
					t.Errorf("%s reported %s, want passed", id, evs[len(evs)-1].Result)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the report endpoint added live got no finished event of %s: %+v", id, evs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	h.signal(syscall.SIGTERM)
	if code := h.waitExit(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}
