package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func newTest(t *testing.T) (*Server, *redis.Client, *httptest.Server) {
	t.Helper()
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { rdb.Close() })
	s, err := New(rdb, "resque")
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.UnixMilli(1_800_000_000_000) }
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, rdb, hs
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func TestFleetPageShowsLeasesAliveAndDeadAndRecoveredJobs(t *testing.T) {
	_, rdb, hs := newTest(t)
	ctx := context.Background()
	rdb.ZAdd(ctx, "resque:fleet:leases",
		redis.Z{Member: "build-a", Score: 1_800_000_030_000},
		redis.Z{Member: "build-b", Score: 1_799_999_000_000})
	rdb.LPush(ctx, "resque:fleet:recovered",
		`{"job_id":"j42","queue":"builds","dead_host":"build-b","dead_worker":"build-b:1:builds","attempt":2,"at":"2027-01-15T08:00:00Z"}`)
	body := get(t, hs.URL+"/")
	for _, want := range []string{"build-a</td><td>alive", `build-b</td><td class="dead">dead`, "j42", "lease"} {
		if !strings.Contains(body, want) {
			t.Errorf("fleet page lacks %q:\n%s", want, body)
		}
	}
}

func TestFleetPageFallsBackToResqueHeartbeats(t *testing.T) {
	s, rdb, hs := newTest(t)
	ctx := context.Background()
	rdb.HSet(ctx, "resque:workers:heartbeat",
		"old-host:1:builds", s.now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"new-host:2:builds", s.now().Add(-5*time.Second).UTC().Format(time.RFC3339))
	body := get(t, hs.URL+"/")
	for _, want := range []string{"new-host</td><td>alive", `old-host</td><td class="dead">dead`, "heartbeat"} {
		if !strings.Contains(body, want) {
			t.Errorf("fleet page lacks %q:\n%s", want, body)
		}
	}
}

const failedJob = `{"failed_at":"2026/01/12 15:23:55 UTC","payload":{"class":"Build","args":["s3cr3t-arg"]},"exception":"RuntimeError","error":"boom","backtrace":[],"worker":"h:1:builds","queue":"builds"}`

func TestFailedRetryAndRemoveUseResqueWebKeysAndNeedCSRF(t *testing.T) {
	s, rdb, hs := newTest(t)
	ctx := context.Background()
	rdb.RPush(ctx, "resque:failed", failedJob, failedJob)
	body := get(t, hs.URL+"/failed")
	if strings.Contains(body, "s3cr3t-arg") {
		t.Fatalf("failed page shows job args:\n%s", body)
	}
	if !strings.Contains(body, "RuntimeError: boom") {
		t.Fatalf("failed page lacks error:\n%s", body)
	}
	cases := []struct {
		name, path, csrf string
		code             int
	}{
		{"retry without token is refused", "/failed/0/retry", "", http.StatusForbidden},
		{"retry with wrong token is refused", "/failed/0/retry", "nope", http.StatusForbidden},
		{"retry", "/failed/0/retry", s.csrf, http.StatusSeeOther},
		{"remove", "/failed/1/remove", s.csrf, http.StatusSeeOther},
		{"bad index", "/failed/x/remove", s.csrf, http.StatusBadRequest},
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range cases {
		resp, err := c.PostForm(hs.URL+tc.path, url.Values{"csrf": {tc.csrf}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.code)
		}
	}
	q, _ := rdb.LRange(ctx, "resque:queue:builds", 0, -1).Result()
	if len(q) != 1 || q[0] != `{"class":"Build","args":["s3cr3t-arg"]}` {
		t.Errorf("queue:builds = %q, want the one retried payload", q)
	}
	if ok, _ := rdb.SIsMember(ctx, "resque:queues", "builds").Result(); !ok {
		t.Error("builds not in resque:queues after retry")
	}
	f, _ := rdb.LRange(ctx, "resque:failed", 0, -1).Result()
	if len(f) != 1 || !strings.Contains(f[0], `"retried_at":"2027/01/15 08:00:00 UTC"`) {
		t.Errorf("failed list = %q, want one record marked retried_at", f)
	}
}

func TestQueuesPageListsPendingCounts(t *testing.T) {
	_, rdb, hs := newTest(t)
	ctx := context.Background()
	rdb.SAdd(ctx, "resque:queues", "builds")
	rdb.RPush(ctx, "resque:queue:builds", "a", "b", "c")
	if body := get(t, hs.URL+"/queues"); !strings.Contains(body, "builds</td><td>3") {
		t.Errorf("queues page:\n%s", body)
	}
}

func BenchmarkFleetPage1000Hosts(b *testing.B) {
	rs := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	ctx := context.Background()
	for i := range 1000 {
		rdb.ZAdd(ctx, "resque:fleet:leases", redis.Z{Member: fmt.Sprintf("host-%04d", i), Score: float64(time.Now().Add(time.Minute).UnixMilli())})
	}
	s, _ := New(rdb, "resque")
	h := s.Handler()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
