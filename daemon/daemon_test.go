package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/metrics"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
)

// fleetSrc is a one-pool fleet.hcl for the harness.
type fleetSrc struct {
	version         string
	vms, maxUnavail int
}

func (f fleetSrc) render(stateDir, redisURL string) string {
	if f.version == "" {
		f.version = "2.0.0"
	}
	if f.maxUnavail == 0 {
		f.maxUnavail = 1
	}
	return fmt.Sprintf(`host {
  name      = "test-host"
  state_dir = %q
}
queue { redis = %q }
reconcile { resync = "1h" }
box "lucid32" {
  version = %q
  url     = "file:lucid32.box"
}
pool "ruby" {
  box    = "lucid32"
  vms    = %d
  queues = ["builds"]
  rollout { max_unavailable = %d }
}
`, stateDir, redisURL, f.version, f.vms, f.maxUnavail)
}

// harness runs a Daemon over a fake provider, fake sandboxes and a real Redis.
type harness struct {
	t        *testing.T
	cfgPath  string
	stateDir string
	redis    *redistest.Server
	prov     *fakeProvider
	boxes    *fakeBoxes
	jobs     *fakeJobs
	qc       *queue.Client // the daemon's
	tq       *queue.Client // the test's own, open for the whole test
	d        *Daemon
	met      *metrics.Metrics
	report   Reporter // Config.Report when set before start
	// reload is Config.Reload when set before start.
	reload func(ctx context.Context, old, new *spec.Fleet, q Queue) error
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, src fleetSrc) *harness {
	t.Helper()
	return newHarnessOn(t, src, redistest.Start(t))
}

// newHarnessOn is newHarness with the daemon's queue on rs.
func newHarnessOn(t *testing.T, src fleetSrc, rs *redistest.Server) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{
		t: t, cfgPath: filepath.Join(dir, "conf", "fleet.hcl"), stateDir: filepath.Join(dir, "state"),
		redis: rs, prov: newFakeProvider("test-host"), boxes: &fakeBoxes{}, jobs: newFakeJobs(),
	}
	os.MkdirAll(filepath.Dir(h.cfgPath), 0o755)
	h.write(src)
	tq, err := queue.Open(queue.Config{URL: h.redis.URL, Host: "test-submitter"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tq.Close() })
	h.tq = tq
	return h
}

func (h *harness) write(src fleetSrc) { h.writeRaw(src.render(h.stateDir, h.redis.URL)) }

func (h *harness) writeRaw(s string) {
	h.t.Helper()
	tmp := h.cfgPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, h.cfgPath); err != nil {
		h.t.Fatal(err)
	}
}

// start starts the daemon; it is stopped (hard) at cleanup unless the test stopped it.
func (h *harness) start() {
	h.t.Helper()
	f, text, err := LoadSpec(h.cfgPath)
	if err != nil {
		h.t.Fatalf("load: %v\n%s", err, text)
	}
	qc, err := queue.Open(queue.Config{URL: f.Queue.Redis, Host: f.Host.Name, OutboxDir: h.outbox(f)}, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.qc = qc
	ap := &reconcile.Applier{Provider: h.prov, Boxes: h.boxes, RetryBase: time.Millisecond}
	h.met = metrics.New()
	d, err := New(Config{
		Metrics:    h.met,
		ConfigPath: h.cfgPath, Fleet: f,
		Engine: &ReconcileEngine{Provider: h.prov, Boxes: h.boxes, Applier: ap, Exclusive: true},
		Queue:  QueueClient{qc}, Sandboxes: h.jobs,
		OpenQueue: func(ctx context.Context, f *spec.Fleet) (Queue, func(), error) {
			c, err := queue.Open(queue.Config{URL: f.Queue.Redis, Namespace: f.Queue.Namespace, Host: f.Host.Name, OutboxDir: h.outbox(f)}, nil)
			if err != nil {
				return nil, nil, err
			}
			if err := c.Redis().Ping(ctx).Err(); err != nil {
				c.Close()
				return nil, nil, err
			}
			return QueueClient{c}, func() { c.Close() }, nil
		},
		Reload:      h.reload,
		Debounce:    20 * time.Millisecond,
		BackoffBase: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Report: h.report,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.d = d
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- d.Run(ctx) }()
	h.t.Cleanup(h.kill)
}

// outbox is the outbox folder of f's queue: one per Redis, as the agent keeps them.
func (h *harness) outbox(f *spec.Fleet) string {
	return filepath.Join(h.stateDir, "outbox", strings.NewReplacer(":", "_", "/", "_").Replace(f.Queue.Redis))
}

// stop stops the daemon gracefully and waits for Run.
func (h *harness) stop() {
	h.t.Helper()
	h.d.Stop()
	h.wait()
}

// kill cancels Run's context and waits.
func (h *harness) kill() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.wait()
}

func (h *harness) wait() {
	h.t.Helper()
	if h.done == nil {
		return
	}
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Fatal("Run did not return within 30s")
	}
	h.done, h.cancel = nil, nil
	h.qc.Close()
}

// until waits for cond over the daemon's status, re-checking at every status change.
func (h *harness) until(what string, cond func(control.Status) bool) control.Status {
	h.t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ch := h.d.Changed()
		st := h.d.Status()
		if cond(st) {
			return st
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline:
			h.t.Fatalf("%s: not within 30s; status: %+v", what, st)
		}
	}
}

func (h *harness) submit(id string) {
	h.t.Helper()
	_, err := h.tq.Submit(context.Background(), "builds", queue.Args{
		ID: id, Repository: queue.Repository{Slug: "o/r", URL: "https://example.org/o/r.git"},
		Commit: "0123456789abcdef", Script: []string{"true"},
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// started waits for the next job start and returns its id.
func (h *harness) started() string {
	h.t.Helper()
	select {
	case id := <-h.jobs.started:
		return id
	case <-time.After(30 * time.Second):
		h.t.Fatal("no job started within 30s")
		return ""
	}
}

func (h *harness) jobState(id string) queue.State {
	st, err := h.tq.JobStatus(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return st.State
}

func serving(st control.Status) []string {
	var out []string
	for _, v := range st.VMs {
		if v.Role == reconcile.RoleWorker && v.Serving {
			out = append(out, v.Name)
		}
	}
	slices.Sort(out)
	return out
}

func workersNamed(names ...string) func(control.Status) bool {
	return func(st control.Status) bool { return slices.Equal(serving(st), names) }
}

func vmByName(st control.Status, name string) *control.VMStatus {
	for i := range st.VMs {
		if st.VMs[i].Name == name {
			return &st.VMs[i]
		}
	}
	return nil
}

// TestScaleUpWhileAJobRuns: vms 1 -> 3 with a job running: two workers appear and the job goes
// on where it was.
func TestScaleUpWhileAJobRuns(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	h.start()
	h.until("one worker serving", workersNamed("ruby-1"))
	h.submit("job-1")
	if id := h.started(); id != "job-1" {
		t.Fatalf("started %s", id)
	}
	h.write(fleetSrc{vms: 3})
	st := h.until("three workers", func(st control.Status) bool {
		return slices.Equal(serving(st), []string{"ruby-1", "ruby-2", "ruby-3"})
	})
	if v := vmByName(st, "ruby-1"); v.Job == nil || v.Job.ID != "job-1" {
		t.Fatalf("ruby-1 job = %+v, want job-1 still running", v.Job)
	}
	h.jobs.finish("job-1", queue.StatePassed)
	h.until("job-1 recorded", func(st control.Status) bool {
		v := vmByName(st, "ruby-1")
		return v.Last != nil && v.Last.ID == "job-1"
	})
	if got := h.jobState("job-1"); got != queue.StatePassed {
		t.Errorf("job-1 = %s, want passed", got)
	}
	if runs := h.jobs.runList(); !slices.Equal(runs, []string{"job-1@ruby-1#1"}) {
		t.Errorf("runs = %v, want job-1 once on ruby-1", runs)
	}
	if d := h.prov.callsOf("destroy"); len(d) != 0 {
		t.Errorf("destroyed %v while scaling up", d)
	}
	h.stop()
}

// TestRejectedEditKeepsTheLastGoodSpec: a broken save changes nothing and is shown with its
// diagnostic; fixing it applies the change.
func TestRejectedEditKeepsTheLastGoodSpec(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	h.start()
	h.until("one worker", workersNamed("ruby-1"))
	cases := []struct{ name, src, diag string }{
		{"syntax error", "pool \"ruby\" {\n  vms = 3\n", "Unclosed configuration block"},
		{"empty file", "", "Empty configuration file"},
		{"invalid value", strings.Replace(fleetSrc{vms: 3}.render(h.stateDir, h.redis.URL), "vms    = 3", "vms    = -3", 1), "Invalid number of VMs"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.d.Status().Reconcile.Passes
			h.writeRaw(c.src)
			st := h.until("rejected edit shown", func(st control.Status) bool {
				return st.Rejected != nil && strings.Contains(st.Rejected.Diagnostics, c.diag)
			})
			if !strings.Contains(st.Rejected.Diagnostics, h.cfgPath) {
				t.Errorf("diagnostic does not name the file:\n%s", st.Rejected.Diagnostics)
			}
			if got := serving(st); !slices.Equal(got, []string{"ruby-1"}) {
				t.Errorf("serving = %v after a rejected edit, want ruby-1 only", got)
			}
			_ = before
		})
	}
	if c := h.prov.callsOf("create"); !slices.Equal(c, []string{"ruby-1"}) {
		t.Errorf("creates = %v, want only the first worker", c)
	}
	h.write(fleetSrc{vms: 2})
	st := h.until("fixed edit applied", workersNamed("ruby-1", "ruby-2"))
	if st.Rejected != nil {
		t.Errorf("rejected edit still shown after the fix: %+v", st.Rejected)
	}
	h.stop()
}

// TestDrainWaitsForJobsAndPersists: drained, no new job is fetched; the drain survives a
// restart; resume lets jobs flow.
func TestDrainWaitsForJobsAndPersists(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 2})
	h.start()
	h.until("two workers", workersNamed("ruby-1", "ruby-2"))
	h.submit("a")
	h.submit("b")
	h.started()
	h.started()
	if err := h.d.Drain(control.DrainRequest{}); err != nil {
		t.Fatal(err)
	}
	h.submit("c")
	h.jobs.finish("a", queue.StatePassed)
	h.jobs.finish("b", queue.StateFailed)
	h.until("idle and drained", func(st control.Status) bool { return st.Draining && st.Running() == 0 && len(serving(st)) == 0 })
	h.stop()
	if got := h.jobState("c"); got != queue.StateQueued {
		t.Fatalf("c = %s while drained, want queued", got)
	}

	h.start()
	st := h.until("drained after restart", func(st control.Status) bool {
		return st.Draining && len(st.VMs) > 0 && vmByName(st, "ruby-1") != nil && vmByName(st, "ruby-1").Worker != ""
	})
	if len(serving(st)) != 0 {
		t.Errorf("serving %v while drained after restart", serving(st))
	}
	if err := h.d.Resume(); err != nil {
		t.Fatal(err)
	}
	if id := h.started(); id != "c" {
		t.Fatalf("after resume started %s, want c", id)
	}
	h.jobs.finish("c", queue.StatePassed)
	h.until("c done", func(st control.Status) bool { return st.Running() == 0 && !st.Draining })
	h.stop()
	if ds, _ := LoadDrainState(h.stateDir); ds.Draining {
		t.Error("drain state still persisted after resume")
	}
}

// TestForcedDrainRequeuesRunningJobs: drain --force cancels the running job; the sandbox
// requeues it and, after resume, it runs again as attempt 2.
func TestForcedDrainRequeuesRunningJobs(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	h.start()
	h.until("worker", workersNamed("ruby-1"))
	h.submit("long")
	h.started()
	if err := h.d.Drain(control.DrainRequest{Force: true}); err != nil {
		t.Fatal(err)
	}
	h.until("job canceled", func(st control.Status) bool { return st.Running() == 0 })
	if got := h.jobState("long"); got != queue.StateQueued {
		t.Errorf("long = %s after drain --force, want queued", got)
	}
	h.d.Resume()
	h.started()
	h.jobs.finish("long", queue.StatePassed)
	h.until("done", func(st control.Status) bool { return st.Running() == 0 })
	if runs := h.jobs.runList(); !slices.Equal(runs, []string{"long@ruby-1#1", "long@ruby-1#2"}) {
		t.Errorf("runs = %v, want attempt 1 then attempt 2", runs)
	}
	h.stop()
}

// TestRollingReplacementKeepsMaxUnavailable: a new image while jobs are queued replaces the
// workers one at a time, each only after its job; no job is lost or run twice.
func TestRollingReplacementKeepsMaxUnavailable(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 3, maxUnavail: 1})
	h.start()
	h.until("three workers", workersNamed("ruby-1", "ruby-2", "ruby-3"))
	var ids []string
	for i := range 6 {
		id := fmt.Sprintf("j%d", i)
		ids = append(ids, id)
		h.submit(id)
	}
	// Watch every status change for the whole rollout: never more than one of the three
	// slots out of service once the rollout began.
	var mu sync.Mutex
	worst := 0
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			ch := h.d.Changed()
			st := h.d.Status()
			out := 3 - len(serving(st))
			if st.Draining {
				out = 0
			}
			mu.Lock()
			worst = max(worst, out)
			mu.Unlock()
			select {
			case <-ch:
			case <-watchCtx.Done():
				return
			}
		}
	}()
	for range 3 {
		h.started()
	}
	h.write(fleetSrc{vms: 3, maxUnavail: 1, version: "2.1.0"})
	finished := map[string]bool{}
	for len(finished) < len(ids) {
		// Finish whatever runs; replaced workers pick up the rest.
		st := h.d.Status()
		for _, v := range st.VMs {
			if v.Job != nil && !finished[v.Job.ID] {
				finished[v.Job.ID] = true
				h.jobs.finish(v.Job.ID, queue.StatePassed)
			}
		}
		if len(finished) < len(ids) {
			select {
			case <-h.jobs.started:
			case <-time.After(30 * time.Second):
				t.Fatalf("rollout stalled: finished %v", finished)
			}
		}
	}
	h.until("all replaced and idle", func(st control.Status) bool {
		if st.Running() != 0 || len(serving(st)) != 3 {
			return false
		}
		for _, v := range st.VMs {
			if v.Role == reconcile.RoleWorker && (v.Image == "" || strings.HasPrefix(v.Image, "")) && v.State == "busy" {
				return false
			}
		}
		return len(h.prov.callsOf("destroy")) >= 3
	})
	stopWatch()
	<-watchDone
	for _, id := range ids {
		if got := h.jobState(id); got != queue.StatePassed {
			t.Errorf("%s = %s, want passed", id, got)
		}
	}
	runs := h.jobs.runList()
	seen := map[string]int{}
	for _, r := range runs {
		seen[strings.Split(r, "@")[0]]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%s ran %d times (runs %v)", id, seen[id], runs)
		}
	}
	mu.Lock()
	if worst > 1 {
		t.Errorf("up to %d workers out of service at once, want at most max_unavailable = 1", worst)
	}
	mu.Unlock()
	h.stop()
}

// TestBrokenVMIsRepaired: a failed rollback takes the VM out of service; reconcile repairs it
// and a new worker serves.
func TestBrokenVMIsRepaired(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	h.start()
	h.until("worker", workersNamed("ruby-1"))
	h.jobs.mu.Lock()
	h.jobs.breakVMs["ruby-1"] = true
	h.jobs.mu.Unlock()
	h.submit("x")
	h.started()
	h.jobs.mu.Lock()
	h.jobs.breakVMs["ruby-1"] = false
	h.jobs.mu.Unlock()
	h.jobs.finish("x", queue.StatePassed)
	h.until("repaired and serving again", func(st control.Status) bool {
		return len(h.prov.callsOf("destroy")) == 1 && slices.Equal(serving(st), []string{"ruby-1"})
	})
	h.stop()
}

// TestFailedActionsBackOff: a failing create is retried with backoff and succeeds later.
func TestFailedActionsBackOff(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	boom := fmt.Errorf("clone: disk full")
	h.prov.fail["create ruby-1"] = []error{boom, boom}
	h.start()
	h.until("worker after retries", workersNamed("ruby-1"))
	if c := h.prov.callsOf("create"); len(c) != 3 {
		t.Errorf("create calls = %v, want 2 failures then a success", c)
	}
	h.stop()
}

// TestStartStopLeaksNoGoroutine is the leak check around the daemon's start and stop.
func TestStartStopLeaksNoGoroutine(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 2})
	opts := []goleak.Option{goleak.IgnoreCurrent()}
	h.start()
	h.until("two workers", workersNamed("ruby-1", "ruby-2"))
	h.stop()
	goleak.VerifyNone(t, opts...)
	if _, err := os.Stat(h.d.SocketPath()); !os.IsNotExist(err) {
		t.Errorf("control socket left behind: %v", err)
	}
}

// metricValue sums the values of the series of family name whose labels include want.
func metricValue(t *testing.T, m *metrics.Metrics, name string, want map[string]string) (float64, bool) {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum, found := 0.0, false
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			found = true
			switch {
			case s.GetCounter() != nil:
				sum += s.GetCounter().GetValue()
			case s.GetGauge() != nil:
				sum += s.GetGauge().GetValue()
			case s.GetHistogram() != nil:
				sum += float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum, found
}

// TestMetricsFollowTheHost checks the daemon feeds the metrics: VMs by state, passes, actions,
// job results, durations and pickup latency.
func TestMetricsFollowTheHost(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	h.start()
	h.until("worker", workersNamed("ruby-1"))
	h.submit("m-1")
	h.started()
	h.jobs.finish("m-1", queue.StatePassed)
	h.until("job recorded", func(st control.Status) bool {
		v := vmByName(st, "ruby-1")
		return v.Last != nil && v.Last.ID == "m-1"
	})
	cases := []struct {
		name    string
		metric  string
		labels  map[string]string
		atLeast float64
	}{
		{"worker VM counted", "fleet_vms", map[string]string{"pool": "ruby", "role": "worker"}, 1},
		{"passes counted", "fleet_reconcile_passes_total", map[string]string{"outcome": "ok"}, 1},
		{"create action counted", "fleet_reconcile_actions_total", map[string]string{"kind": "create_worker", "outcome": "done"}, 1},
		{"job result counted", "fleet_jobs_total", map[string]string{"pool": "ruby", "result": "passed"}, 1},
		{"job duration observed", "fleet_job_duration_seconds", map[string]string{"pool": "ruby"}, 1},
		{"pickup latency observed", "fleet_queue_pickup_seconds", map[string]string{"pool": "ruby"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, ok := metricValue(t, h.met, c.metric, c.labels)
			if !ok || v < c.atLeast {
				t.Errorf("%s%v = %v (present %v), want at least %v", c.metric, c.labels, v, ok, c.atLeast)
			}
		})
	}
	h.stop()
}

// TestScaleDownWaitsForTheJob: a surplus worker with a job is destroyed only after the job,
// and stops fetching meanwhile.
func TestScaleDownWaitsForTheJob(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 2})
	h.start()
	h.until("two workers", workersNamed("ruby-1", "ruby-2"))
	h.submit("s-1")
	h.submit("s-2")
	h.started()
	h.started()
	h.write(fleetSrc{vms: 1})
	st := h.until("ruby-2 handed over", func(st control.Status) bool {
		v := vmByName(st, "ruby-2")
		return v != nil && !v.Serving && v.Job != nil
	})
	if d := h.prov.callsOf("destroy"); len(d) != 0 {
		t.Fatalf("destroyed %v while its job runs", d)
	}
	job := vmByName(st, "ruby-2").Job.ID
	other := "s-1"
	if job == "s-1" {
		other = "s-2"
	}
	h.jobs.finish(job, queue.StatePassed)
	h.until("ruby-2 gone", func(st control.Status) bool { return vmByName(st, "ruby-2") == nil })
	if v := vmByName(h.d.Status(), "ruby-1"); v.Job == nil || v.Job.ID != other {
		t.Errorf("ruby-1 job = %+v, want %s undisturbed", v.Job, other)
	}
	h.jobs.finish(other, queue.StatePassed)
	h.stop()
}

// TestDirtyVMIsResetBeforeItsFirstJob: a VM a job ran on when the last agent died is rolled
// back before the new agent gives it a job; clean VMs are not.
func TestDirtyVMIsResetBeforeItsFirstJob(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 2})
	h.start()
	st := h.until("two workers", workersNamed("ruby-1", "ruby-2"))
	h.stop()
	_ = st
	inv, _ := h.prov.Observe(context.Background())
	for _, v := range inv.VMs {
		if v.Name == "ruby-2" {
			os.WriteFile(filepath.Join(h.stateDir, dirtyDir, v.ID), []byte("job\n"), 0o600)
		}
	}
	h.start()
	h.until("two workers again", workersNamed("ruby-1", "ruby-2"))
	h.jobs.mu.Lock()
	resets := slices.Clone(h.jobs.resets)
	h.jobs.mu.Unlock()
	if !slices.Equal(resets, []string{"ruby-2"}) {
		t.Errorf("resets = %v, want only the dirty ruby-2", resets)
	}
	h.stop()
}
