package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// testNow is the clock of every test server: 2027-01-15 08:00:00 UTC.
var testNow = time.UnixMilli(1_800_000_000_000)

const testToken = "dashboard-token-7f3a"

func newTestWith(t *testing.T, opts Options) (*Server, *redis.Client, *httptest.Server) {
	t.Helper()
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { rdb.Close() })
	s, err := New(rdb, "resque", opts)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return testNow }
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, rdb, hs
}

func newTest(t *testing.T) (*Server, *redis.Client, *httptest.Server) {
	return newTestWith(t, Options{Token: testToken})
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

func wantAll(t *testing.T, page, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s page lacks %q:\n%s", page, w, body)
		}
	}
}

func publish(t *testing.T, rdb *redis.Client, st HostState) {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(context.Background(), "resque:fleet:hosts", st.Host, b).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestFleetPageShowsLeasesAliveAndDeadAndRecoveredJobs(t *testing.T) {
	_, rdb, hs := newTest(t)
	ctx := context.Background()
	rdb.ZAdd(ctx, "resque:fleet:leases",
		redis.Z{Member: "build-a", Score: float64(testNow.Add(30 * time.Second).UnixMilli())},
		redis.Z{Member: "build-b", Score: float64(testNow.Add(-1000 * time.Second).UnixMilli())})
	rdb.LPush(ctx, "resque:fleet:recovered",
		`{"job_id":"j42","queue":"builds","dead_host":"build-b","dead_worker":"build-b:1:builds","attempt":2,"at":"2027-01-15T08:00:00Z"}`)
	body := get(t, hs.URL+"/")
	wantAll(t, "fleet", body, `build-a <small><span class="alive">alive</span> · lease expires in 30s`,
		`build-b <small><span class="dead">dead</span> · lease expired 16m40s ago`, `href="/jobs/j42"`)
}

func TestFleetPageShowsEachWorkerVMWithPoolStateAndTheJobItRunsSinceWhen(t *testing.T) {
	_, rdb, hs := newTest(t)
	ctx := context.Background()
	rdb.ZAdd(ctx, "resque:fleet:leases", redis.Z{Member: "build-a", Score: float64(testNow.Add(20 * time.Second).UnixMilli())})
	rdb.SAdd(ctx, "resque:workers", "build-a:ruby-1:builds", "build-a:ruby-2:builds")
	publish(t, rdb, HostState{Host: "build-a", At: testNow.Add(-2 * time.Second), Draining: true, VMs: []VMState{
		{Name: "golden-ruby", Pool: "ruby", Role: "golden", State: "poweroff"},
		{Name: "ruby-1", Pool: "ruby", Role: "worker", State: "running", Worker: "build-a:ruby-1:builds",
			Job: &JobRef{ID: "job-77", Queue: "builds", Attempt: 2, Since: testNow.Add(-95 * time.Second)}},
		{Name: "ruby-2", Pool: "ruby", Role: "worker", State: "rebuilding", Why: "recipe content changed", Worker: "build-a:ruby-2:builds"},
		{Name: "ruby-3", Pool: "ruby", Role: "worker", State: "cordoned", Why: "drained by operator"},
	}})
	body := get(t, hs.URL+"/")
	wantAll(t, "fleet", body,
		`<span class="warn">drained</span>`, "state 2s old",
		`golden-ruby <span class="muted">(golden)</span>`,
		`<td>ruby-1</td><td>ruby</td>`, `<td class="state">running</td>`, `<a href="/jobs/job-77">job-77</a> <span class="muted">builds, attempt 2</span>`, "<td>1m35s</td>",
		`rebuilding <span class="muted">(recipe content changed)</span>`,
		`cordoned <span class="muted">(drained by operator)</span>`)
	if strings.Contains(body, "Resque worker") {
		t.Errorf("workers the host's state accounts for are listed again as bare Resque workers:\n%s", body)
	}
}

func TestFleetPageShowsResqueWorkersNoAgentAccountsForWithTheirJob(t *testing.T) {
	s, rdb, hs := newTest(t)
	ctx := context.Background()
	rdb.SAdd(ctx, "resque:workers", "ruby-host:4242:builds,deploys", "gone-host:1:builds")
	rdb.HSet(ctx, "resque:workers:heartbeat",
		"ruby-host:4242:builds,deploys", s.now().Add(-5*time.Second).UTC().Format(time.RFC3339),
		"gone-host:1:builds", s.now().Add(-time.Hour).UTC().Format(time.RFC3339))
	rdb.Set(ctx, "resque:worker:ruby-host:4242:builds,deploys",
		`{"queue":"deploys","run_at":"2027/01/15 07:59:00 UTC","payload":{"class":"Deploy","args":["<script>alert(1)</script>"]}}`, 0)
	body := get(t, hs.URL+"/")
	wantAll(t, "fleet", body, `ruby-host <small><span class="alive">alive</span> · Resque heartbeat 5s ago`,
		`gone-host <small><span class="dead">dead</span>`,
		`<td>ruby-host:4242:builds,deploys</td><td>builds,deploys</td><td>running</td>`,
		`<a href="/jobs/Deploy">Deploy</a> <span class="muted">deploys</span>`, "2027/01/15 07:59:00 UTC")
	if strings.Contains(body, "<script>alert") {
		t.Errorf("payload markup reached the page unescaped:\n%s", body)
	}
}

// roundTrips counts the Redis round trips a client makes, not counting the
// handshake of a new connection (HELLO, CLIENT SETINFO).
type roundTrips struct{ n atomic.Int64 }

func handshake(cmd redis.Cmder) bool { return cmd.Name() == "hello" || cmd.Name() == "client" }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !handshake(cmd) {
			r.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && !handshake(cmds[0]) {
			r.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// seedFleet fills Redis with hosts agents, each with workers worker VMs
// running a job, as the agents publish them.
func seedFleet(tb testing.TB, rdb *redis.Client, hosts, workers int, now time.Time) {
	ctx := context.Background()
	p := rdb.Pipeline()
	for h := range hosts {
		name := fmt.Sprintf("host-%03d", h)
		p.ZAdd(ctx, "resque:fleet:leases", redis.Z{Member: name, Score: float64(now.Add(20 * time.Second).UnixMilli())})
		st := HostState{Host: name, At: now}
		for w := range workers {
			id := fmt.Sprintf("%s:ruby-%d:builds", name, w)
			p.SAdd(ctx, "resque:workers", id)
			p.HSet(ctx, "resque:workers:heartbeat", id, now.UTC().Format(time.RFC3339))
			st.VMs = append(st.VMs, VMState{Name: fmt.Sprintf("ruby-%d", w), Pool: "ruby", Role: "worker", State: "running",
				Worker: id, Job: &JobRef{ID: fmt.Sprintf("job-%d-%d", h, w), Queue: "builds", Attempt: 1, Since: now.Add(-time.Minute)}})
		}
		b, _ := json.Marshal(st)
		p.HSet(ctx, "resque:fleet:hosts", name, b)
	}
	if _, err := p.Exec(ctx); err != nil {
		tb.Fatal(err)
	}
}

func TestFleetPageReadsAFleetOfAgentsInOnePipelinedRound(t *testing.T) {
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	seedFleet(t, rdb, 5, 4, testNow)
	counted := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer counted.Close()
	rt := &roundTrips{}
	counted.AddHook(rt)
	s, err := New(counted, "resque", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return testNow }
	rt.n.Store(0)
	hosts, _, err := s.Fleet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 5 || len(hosts[0].VMs) != 4 {
		t.Fatalf("read %d hosts (first with %d VMs), want 5 with 4", len(hosts), len(hosts[0].VMs))
	}
	if n := rt.n.Load(); n != 1 {
		t.Errorf("the fleet page took %d Redis round trips, want 1 pipelined round", n)
	}
}

const failedJob = `{"failed_at":"2026/01/12 15:23:55 UTC","payload":{"class":"Build","args":["s3cr3t-arg"]},"exception":"RuntimeError","error":"boom","backtrace":[],"worker":"h:1:builds","queue":"builds"}`

func TestFailedRetryAndRemoveUseResqueWebKeysAndNeedTheTokenAndCSRF(t *testing.T) {
	s, rdb, hs := newTest(t)
	ctx := context.Background()
	rdb.RPush(ctx, "resque:failed", failedJob, failedJob)
	body := get(t, hs.URL+"/failed")
	if strings.Contains(body, "s3cr3t-arg") {
		t.Fatalf("failed page shows job args:\n%s", body)
	}
	wantAll(t, "failed", body, "RuntimeError: boom", `action="/failed/0/retry"`)
	cases := []struct {
		name, path, token, csrf string
		code                    int
	}{
		{"retry without the dashboard token is refused", "/failed/0/retry", "", s.csrf, http.StatusUnauthorized},
		{"retry with a wrong dashboard token is refused", "/failed/0/retry", "guess", s.csrf, http.StatusUnauthorized},
		{"retry without CSRF token is refused", "/failed/0/retry", testToken, "", http.StatusForbidden},
		{"retry with wrong CSRF token is refused", "/failed/0/retry", testToken, "nope", http.StatusForbidden},
		{"retry", "/failed/0/retry", testToken, s.csrf, http.StatusSeeOther},
		{"remove", "/failed/1/remove", testToken, s.csrf, http.StatusSeeOther},
		{"bad index", "/failed/x/remove", testToken, s.csrf, http.StatusBadRequest},
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range cases {
		req, _ := http.NewRequest("POST", hs.URL+tc.path, strings.NewReader(url.Values{"csrf": {tc.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.token != "" {
			req.SetBasicAuth("ops", tc.token)
		}
		resp, err := c.Do(req)
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

func TestDashboardWithoutATokenOrReadOnlyChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no auth file", Options{}},
		{"read-only with a token", Options{Token: testToken, ReadOnly: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, rdb, hs := newTestWith(t, tc.opts)
			ctx := context.Background()
			rdb.RPush(ctx, "resque:failed", failedJob)
			body := get(t, hs.URL+"/failed")
			wantAll(t, "failed", body, "Read-only")
			if strings.Contains(body, "<button>Retry") {
				t.Errorf("a read-only dashboard offers Retry:\n%s", body)
			}
			req, _ := http.NewRequest("POST", hs.URL+"/failed/0/retry", strings.NewReader("csrf="+s.csrf))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("retry on a read-only dashboard: status %d, want 403", resp.StatusCode)
			}
			if n, _ := rdb.LLen(ctx, "resque:queue:builds").Result(); n != 0 {
				t.Errorf("a read-only dashboard requeued the job")
			}
		})
	}
}

func TestQueuesPageShowsLengthOldestAgeJobsPerMinuteAndProcessingLists(t *testing.T) {
	_, rdb, hs := newTest(t)
	ctx := context.Background()
	rdb.SAdd(ctx, "resque:queues", "builds", "deploys", "empty")
	rdb.RPush(ctx, "resque:queue:builds", `{"class":"Fleet::Job","args":[{"id":"j-old"}]}`, `{"class":"Fleet::Job","args":[{"id":"j-new"}]}`, "c")
	rdb.HSet(ctx, "resque:fleet:job:j-old", "submitted_at", testNow.Add(-125*time.Second).UTC().Format(time.RFC3339Nano))
	rdb.RPush(ctx, "resque:queue:deploys", fmt.Sprintf(`{"class":"Deploy","args":[],"enqueued_at":%d.5}`, testNow.Add(-time.Hour).Unix()))
	// 30 builds ended in the last five whole minutes, 100 in the current minute (not counted yet).
	min := testNow.Unix() / 60
	for i, n := range []int{10, 5, 0, 8, 7} {
		rdb.Set(ctx, fmt.Sprintf("resque:fleet:stat:done:builds:%d", min-int64(i)-1), n, 0)
	}
	rdb.Set(ctx, fmt.Sprintf("resque:fleet:stat:done:builds:%d", min), 100, 0)
	rdb.SAdd(ctx, "resque:fleet:slots", "build-a:ruby-1:builds,deploys")
	rdb.RPush(ctx, "resque:fleet:processing:build-a:ruby-1:builds,deploys:deploys", `{"class":"Fleet::Job","args":[{"id":"j-held"}]}`)
	body := get(t, hs.URL+"/queues")
	wantAll(t, "queues", body,
		"<td>builds</td><td>3</td><td>2m5s</td><td>6.0</td>",
		"<td>deploys</td><td>1</td><td>1h0m0s</td><td>0.0</td>",
		"<td>empty</td><td>0</td><td>—</td><td>0.0</td>",
		`<td>build-a:ruby-1:builds,deploys</td><td>deploys</td><td><a href="/jobs/j-held">j-held</a></td>`)
}

type fakeHost struct{ v HostView }

func (f fakeHost) HostView(context.Context) (HostView, error) { return f.v, nil }

func TestHostPageShowsTheSpecInForceTheLastPlanAndARejectedEdit(t *testing.T) {
	_, _, hs := newTestWith(t, Options{Host: fakeHost{HostView{
		Host:     "build-a",
		Files:    []HostFile{{Name: "/etc/fleet/fleet.hcl", Text: "pool \"ruby\" {\n  box = \"lucid32\"\n}\n"}},
		LoadedAt: testNow.Add(-10 * time.Minute),
		PlanText: "-/+ worker ruby-2: recipe content changed\n", PlanJSON: []byte(`{"format_version":"1","actions":[]}`),
		PlanAt:   testNow.Add(-3 * time.Second),
		Rejected: &Rejected{At: testNow.Add(-time.Minute), Diagnostics: "Error: Restart needed\n  on fleet.hcl line 3", RestartNeeded: []string{"host.state_dir"}},
	}}})
	body := get(t, hs.URL+"/host")
	wantAll(t, "host", body, "Host build-a", `<a href="/host">Host</a>`,
		"Rejected edit <small>1m0s ago", "host.state_dir", "Error: Restart needed",
		"-/&#43; worker ruby-2: recipe content changed", "/etc/fleet/fleet.hcl", "pool &#34;ruby&#34; {", "loaded 10m0s ago")
	if got := get(t, hs.URL+"/host/plan.json"); got != `{"format_version":"1","actions":[]}` {
		t.Errorf("plan.json = %s", got)
	}
}

func TestAgentWebHasNoHostPageAndSaysWhereItIs(t *testing.T) {
	_, _, hs := newTest(t)
	if strings.Contains(get(t, hs.URL+"/"), `href="/host"`) {
		t.Error("agent web links a Host page it does not serve")
	}
	resp, err := http.Get(hs.URL + "/host")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "agent run") {
		t.Errorf("GET /host on agent web: %d %s", resp.StatusCode, b)
	}
}

func TestPagesForbidFramingAndInlineScripts(t *testing.T) {
	_, _, hs := newTest(t)
	resp, err := http.Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

// BenchmarkFleetPage100Hosts32Workers is the figure: the Fleet page
// for 100 hosts of 32 busy worker VMs, server side, over a real redis-server.
func BenchmarkFleetPage100Hosts32Workers(b *testing.B) {
	rs := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	seedFleet(b, rdb, 100, 32, time.Now())
	s, _ := New(rdb, "resque", Options{})
	h := s.Handler()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
