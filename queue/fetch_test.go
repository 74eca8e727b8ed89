package queue

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFetchIsFIFOAndTriesQueuesInOrder(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	s := e.slot(t, c, "0", "high", "low")
	e.submit(t, c, "low", "low-1")
	e.submit(t, c, "high", "high-1")
	e.submit(t, c, "high", "high-2")
	e.submit(t, c, "low", "low-2")
	ctx := fetchCtx(t)
	var got []string
	for range 4 {
		j, err := s.Fetch(ctx)
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		got = append(got, j.Queue+"/"+j.ID)
		if err := s.Finish(ctx, j, Result{State: StatePassed}); err != nil {
			t.Fatalf("finish: %v", err)
		}
	}
	want := []string{"high/high-1", "high/high-2", "low/low-1", "low/low-2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("fetch order (-want +got):\n%s", d)
	}
}

func TestFetchKeepsPayloadBytesAndWritesWorkingOn(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{PID: 4242})
	s := e.slot(t, c, "0", "builds")
	// Spaces and key order a re-serialiser would change.
	payload := strings.Replace(validPayload, `"class":"Fleet::Build"`, `"class" : "Fleet::Build"`, 1)
	e.rawPush(t, "builds", payload)
	ctx := fetchCtx(t)
	j, err := s.Fetch(ctx)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if string(j.Raw) != payload {
		t.Errorf("raw = %s, want the queued bytes", j.Raw)
	}
	proc, _ := e.rdb.LRange(ctx, "resque:fleet:processing:build-01:4242-0:builds:builds", 0, -1).Result()
	if d := cmp.Diff([]string{payload}, proc); d != "" {
		t.Errorf("processing list (-want +got):\n%s", d)
	}
	rec, err := e.rdb.Get(ctx, "resque:worker:build-01:4242-0:builds").Result()
	if err != nil {
		t.Fatalf("working-on record: %v", err)
	}
	var on struct {
		Queue   string         `json:"queue"`
		RunAt   string         `json:"run_at"`
		Payload map[string]any `json:"payload"`
		Worker  string         `json:"worker"`
	}
	if err := json.Unmarshal([]byte(rec), &on); err != nil {
		t.Fatalf("working-on record %s: %v", rec, err)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", on.RunAt); err != nil {
		t.Errorf("run_at %q is not UTC ISO-8601: %v", on.RunAt, err)
	}
	if on.Queue != "builds" || on.Worker != "build-01:4242-0" || on.Payload["class"] != JobClass {
		t.Errorf("working-on record = %s", rec)
	}
	st, err := c.JobStatus(ctx, "job-1")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateStarted || st.Attempt != 1 || st.Worker != s.ID() || st.Host != "build-01" {
		t.Errorf("status = %+v", st)
	}
}

func TestFinishRecordsResultAndCountersInOneStep(t *testing.T) {
	tests := []struct {
		name       string
		result     Result
		wantFailed int64
	}{
		{"passed", Result{State: StatePassed}, 0},
		{"build failed", Result{State: StateFailed, ExitCode: 2}, 0},
		{"canceled", Result{State: StateCanceled, ExitCode: -1, Err: ErrCanceled}, 0},
		{"errored", Result{State: StateErrored, Err: errors.New("vm ruby-3 lost")}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			c := e.client(t, Config{PID: 7})
			s := e.slot(t, c, "0", "builds")
			e.submit(t, c, "builds", "j1")
			ctx := fetchCtx(t)
			j, err := s.Fetch(ctx)
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if err := s.Finish(ctx, j, tt.result); err != nil {
				t.Fatalf("finish: %v", err)
			}
			got := map[string]int64{}
			for _, k := range []string{"resque:fleet:processing:" + s.ID() + ":builds", "resque:failed"} {
				got[k], _ = e.rdb.LLen(ctx, k).Result()
			}
			got["resque:worker:"+s.ID()], _ = e.rdb.Exists(ctx, "resque:worker:"+s.ID()).Result()
			for _, k := range []string{"stat:processed", "stat:processed:" + s.ID(), "stat:failed", "stat:failed:" + s.ID()} {
				got["resque:"+k], _ = e.rdb.Get(ctx, "resque:"+k).Int64()
			}
			want := map[string]int64{
				"resque:fleet:processing:" + s.ID() + ":builds": 0,
				"resque:failed":                   tt.wantFailed,
				"resque:worker:" + s.ID():         0,
				"resque:stat:processed":           1,
				"resque:stat:processed:" + s.ID(): 1,
				"resque:stat:failed":              tt.wantFailed,
				"resque:stat:failed:" + s.ID():    tt.wantFailed,
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("redis after finish (-want +got):\n%s", d)
			}
			st, err := c.JobStatus(ctx, "j1")
			if err != nil {
				t.Fatal(err)
			}
			if st.State != tt.result.State || st.ExitCode != tt.result.ExitCode || st.FinishedAt.IsZero() {
				t.Errorf("status = %+v, want state %s exit %d", st, tt.result.State, tt.result.ExitCode)
			}
			if ttl, _ := e.rdb.TTL(ctx, "resque:fleet:job:j1").Result(); ttl <= 0 {
				t.Errorf("job record TTL = %v, want the retention period", ttl)
			}
			if tt.wantFailed == 1 {
				rec, _ := e.rdb.LIndex(ctx, "resque:failed", 0).Result()
				var f map[string]any
				if err := json.Unmarshal([]byte(rec), &f); err != nil {
					t.Fatal(err)
				}
				if f["error"] != "vm ruby-3 lost" || f["exception"] != "Fleet::JobError" ||
					f["worker"] != s.ID() || f["queue"] != "builds" {
					t.Errorf("failure record = %s", rec)
				}
				if _, err := time.Parse(resqueTimeLayout, f["failed_at"].(string)); err != nil {
					t.Errorf("failed_at: %v", err)
				}
			}
		})
	}
}

func TestInvalidPayloadsGoToFailedAndFetchGoesOn(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	s := e.slot(t, c, "0", "builds")
	e.rawPush(t, "builds", "not json at all")
	e.rawPush(t, "builds", `{"class":"Archive","args":[35,"tar"]}`)
	e.rawPush(t, "builds", `{"class":"Fleet::Build","args":[{"id":"half-done"}]}`)
	e.submit(t, c, "builds", "good")
	ctx := fetchCtx(t)
	j, err := s.Fetch(ctx)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if j.ID != "good" {
		t.Errorf("fetched %q, want the valid job", j.ID)
	}
	recs, _ := e.rdb.LRange(ctx, "resque:failed", 0, -1).Result()
	var got []string
	for _, r := range recs {
		var f struct{ Exception, Error string }
		if err := json.Unmarshal([]byte(r), &f); err != nil {
			t.Fatalf("failure record %s: %v", r, err)
		}
		got = append(got, f.Exception+": "+f.Error)
	}
	want := []string{
		"Fleet::InvalidPayload: invalid job payload: payload is not JSON: invalid character 'o' in literal null (expecting 'u')",
		`Fleet::InvalidPayload: invalid job payload: class: "Archive", want "Fleet::Build"; args: 2 elements, want a list of exactly one object`,
		"Fleet::InvalidPayload: invalid job payload: args[0].repository.slug: required; args[0].repository.url: required; " +
			"args[0].commit: required; args[0].script: required, a list of at least one shell step",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("failures (-want +got):\n%s", d)
	}
	st, err := c.JobStatus(ctx, "half-done")
	if err != nil || st.State != StateErrored || !strings.Contains(st.Error, "commit: required") {
		t.Errorf("status of the invalid job with an id = %+v, %v", st, err)
	}
}

func TestFetchWaitsWhilePausedAndStopsWhenDrained(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	s := e.slot(t, c, "0", "builds")
	ctx := context.Background()
	e.submit(t, c, "builds", "j1")

	for _, pause := range []func() error{
		func() error { return c.Pause(ctx) },
		func() error { return e.rdb.Set(ctx, "resque:pause-all-workers", " TRUE ", 0).Err() },
	} {
		if err := pause(); err != nil {
			t.Fatal(err)
		}
		if p, err := c.Paused(ctx); err != nil || !p {
			t.Fatalf("paused = %v, %v; want true", p, err)
		}
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := s.Fetch(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("fetch while paused: %v, want to wait until the deadline", err)
		}
		if n, _ := e.rdb.LLen(ctx, "resque:queue:builds").Result(); n != 1 {
			t.Fatalf("queue length while paused = %d, want 1", n)
		}
		_ = c.Resume(ctx)
		_ = e.rdb.Del(ctx, "resque:pause-all-workers").Err()
	}

	j, err := s.Fetch(fetchCtx(t))
	if err != nil {
		t.Fatalf("fetch after resume: %v", err)
	}
	idle := s.Drain()
	select {
	case <-idle:
		t.Fatal("drain reported idle while a job is held")
	default:
	}
	if _, err := s.Fetch(ctx); !errors.Is(err, ErrBusy) {
		t.Errorf("second fetch while holding a job: %v, want ErrBusy", err)
	}
	if err := s.Finish(ctx, j, Result{State: StatePassed}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-idle:
	case <-time.After(10 * time.Second):
		t.Fatal("drain never reported idle after the job finished")
	}
	e.submit(t, c, "builds", "j2")
	if _, err := s.Fetch(ctx); !errors.Is(err, ErrDraining) {
		t.Errorf("fetch after drain: %v, want ErrDraining", err)
	}
	s.Undrain()
	if j, err := s.Fetch(fetchCtx(t)); err != nil || j.ID != "j2" {
		t.Errorf("fetch after undrain: %v, %v", j, err)
	}
}

func TestDrainWhileBlockedHandsJobBack(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	s := e.slot(t, c, "0", "builds")
	ctx := fetchCtx(t)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Fetch(ctx)
		errc <- err
	}()
	// Wait until the fetch waits at the host fetcher, then drain and push.
	waitFor(t, func() bool { return c.fetcher.waitingSlots() == 1 })
	s.Drain()
	e.submit(t, c, "builds", "late")
	if err := <-errc; !errors.Is(err, ErrDraining) {
		t.Fatalf("fetch: %v, want ErrDraining", err)
	}
	got, _ := e.rdb.LRange(ctx, "resque:queue:builds", 0, -1).Result()
	if len(got) != 1 || !strings.Contains(got[0], `"id":"late"`) {
		t.Errorf("queue after drain = %v, want the job back", got)
	}
}

func TestRegisterAndUnregisterMirrorResque(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{PID: 99})
	s := e.slot(t, c, "vm-1", "builds.ruby", "builds")
	ctx := context.Background()
	id := "build-01:99-vm-1:builds.ruby,builds"
	if s.ID() != id {
		t.Fatalf("id = %q, want %q", s.ID(), id)
	}
	if ok, _ := e.rdb.SIsMember(ctx, "resque:workers", id).Result(); !ok {
		t.Error("worker not in resque:workers")
	}
	started, _ := e.rdb.Get(ctx, "resque:worker:"+id+":started").Result()
	if _, err := time.Parse(rubyTimeLayout, started); err != nil {
		t.Errorf("started %q: %v", started, err)
	}
	beat, _ := e.rdb.HGet(ctx, "resque:workers:heartbeat", id).Result()
	if _, err := time.Parse(time.RFC3339, beat); err != nil {
		t.Errorf("heartbeat %q: %v", beat, err)
	}
	e.submit(t, c, "builds", "held")
	if _, err := s.Fetch(fetchCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	keys, _ := e.rdb.Keys(ctx, "resque:*").Result()
	var left []string
	for _, k := range keys {
		if strings.Contains(k, id) {
			left = append(left, k)
		}
	}
	if len(left) > 0 {
		t.Errorf("keys of the unregistered worker remain: %v", left)
	}
	if n, _ := e.rdb.HLen(ctx, "resque:workers:heartbeat").Result(); n != 0 {
		t.Errorf("heartbeat entries = %d, want 0", n)
	}
	if q, _ := e.rdb.LRange(ctx, "resque:queue:builds", 0, -1).Result(); len(q) != 1 {
		t.Errorf("held job not put back on unregister: queue = %v", q)
	}
	if st, _ := c.JobStatus(ctx, "held"); st.State != StateQueued {
		t.Errorf("held job state = %s, want queued", st.State)
	}
}

func TestNewSlotRejectsColonsAndCommas(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	tests := []struct {
		name, slot string
		queues     []string
	}{
		{"colon in queue", "0", []string{"a:b"}},
		{"comma in queue", "0", []string{"a,b"}},
		{"colon in slot", "x:y", []string{"q"}},
		{"no queues", "0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.NewSlot(tt.slot, tt.queues); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := New(e.rdb, Config{Host: "a:b"}, nil); err == nil {
		t.Error("host with a colon accepted")
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
