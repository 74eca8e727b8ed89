package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

// accepted waits until an edit saved after prev is in force (the spec's hash changed) and
// no edit is pending.
func (h *harness) accepted(prev control.Status) control.Status {
	h.t.Helper()
	return h.until("edit in force", func(st control.Status) bool {
		return st.Spec.Hash != prev.Spec.Hash && st.Rejected == nil
	})
}

// TestLiveQueueMoveFinishesRunningJobOnOldRedis: saving a queue.redis that points at a second
// redis-server while a job runs is taken live: the running job ends and is recorded on the
// old Redis, the worker then fetches from the new one only, and nothing is lost.
func TestLiveQueueMoveFinishesRunningJobOnOldRedis(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	other := redistest.Start(t)
	oq, err := queue.Open(queue.Config{URL: other.URL, Host: "test-submitter"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer oq.Close()
	h.start()
	h.until("one worker", workersNamed("ruby-1"))
	h.submit("job-1")
	if id := h.started(); id != "job-1" {
		t.Fatalf("started %s", id)
	}

	prev := h.d.Status()
	h.writeRaw(fleetSrc{vms: 1}.render(h.stateDir, other.URL))
	st := h.accepted(prev)
	if v := vmByName(st, "ruby-1"); v == nil || v.Job == nil || v.Job.ID != "job-1" {
		t.Fatalf("ruby-1 = %+v, want job-1 still running after the move", v)
	}
	submit := func(c *queue.Client, id string) {
		t.Helper()
		if _, err := c.Submit(context.Background(), "builds", queue.Args{ID: id, Repository: queue.Repository{Slug: "o/r", URL: "https://example.org/o/r.git"},
			Commit: "0123456789abcdef", Script: []string{"true"}}); err != nil {
			t.Fatal(err)
		}
	}
	submit(oq, "job-2")
	h.jobs.finish("job-1", queue.StatePassed)
	if id := h.started(); id != "job-2" {
		t.Fatalf("after the move the worker started %s, want job-2 from the new Redis", id)
	}
	if got := h.jobState("job-1"); got != queue.StatePassed {
		t.Errorf("job-1 on the old Redis = %s, want passed", got)
	}
	// The old Redis gets no worker any more: a job submitted there stays queued.
	h.submit("job-3")
	h.jobs.finish("job-2", queue.StatePassed)
	h.until("job-2 recorded", func(st control.Status) bool {
		v := vmByName(st, "ruby-1")
		return v != nil && v.Last != nil && v.Last.ID == "job-2"
	})
	if st, err := oq.JobStatus(context.Background(), "job-2"); err != nil || st.State != queue.StatePassed {
		t.Errorf("job-2 on the new Redis = %+v, %v; want passed", st, err)
	}
	if n, err := h.tq.Redis().LLen(context.Background(), "resque:queue:builds").Result(); err != nil || n != 1 {
		t.Errorf("old Redis builds queue holds %d (%v), want job-3 still queued", n, err)
	}
	h.until("no worker registered on the old Redis", func(control.Status) bool {
		n, err := h.tq.Redis().SCard(context.Background(), "resque:workers").Result()
		return err == nil && n == 0
	})
	h.stop()
}

// TestLiveEditRejectedWhenNewQueueDoesNotAnswer: a queue.redis nobody serves rejects the
// edit with a located diagnostic; the running spec and queue stay, and jobs keep running.
func TestLiveEditRejectedWhenNewQueueDoesNotAnswer(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "redis://" + ln.Addr().String() + "/0" // nothing serves it once closed
	ln.Close()
	h.start()
	h.until("one worker", workersNamed("ruby-1"))
	prev := h.d.Status()
	h.writeRaw(fleetSrc{vms: 2}.render(h.stateDir, gone))
	st := h.until("edit rejected", func(st control.Status) bool { return st.Rejected != nil })
	for _, want := range []string{"Error: Edit not applied", "on " + h.cfgPath + " line 5:", "queue.redis changed"} {
		if !strings.Contains(st.Rejected.Diagnostics, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, st.Rejected.Diagnostics)
		}
	}
	if st.Spec.Hash != prev.Spec.Hash {
		t.Errorf("spec in force changed")
	}
	h.submit("job-1")
	if id := h.started(); id != "job-1" {
		t.Fatalf("started %s, want job-1 from the running queue", id)
	}
	h.jobs.finish("job-1", queue.StatePassed)
	h.stop()
}

// TestLiveReloadErrorRejectsWholeEdit: when Config.Reload cannot take a setting (a listener
// that does not bind), the edit is rejected on that setting and none of it (not its pool
// change) is applied; fixing it applies everything.
func TestLiveReloadErrorRejectsWholeEdit(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	var fail atomic.Bool
	fail.Store(true)
	h.reload = func(ctx context.Context, old, new *spec.Fleet, q Queue) error {
		if fail.Load() && new.Pools[0].VMs == 2 {
			return &SettingError{Setting: "reconcile.resync", Err: errors.New("address already in use")}
		}
		return nil
	}
	h.start()
	h.until("one worker", workersNamed("ruby-1"))
	h.write(fleetSrc{vms: 2})
	st := h.until("edit rejected", func(st control.Status) bool { return st.Rejected != nil })
	for _, want := range []string{"Error: Edit not applied", "on " + h.cfgPath + " line 6:", "reconcile.resync changed", "address already in use"} {
		if !strings.Contains(st.Rejected.Diagnostics, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, st.Rejected.Diagnostics)
		}
	}
	if got := h.prov.callsOf("create"); fmt.Sprint(got) != "[ruby-1]" {
		t.Errorf("creates = %v: the rejected edit's pool change was applied", got)
	}
	fail.Store(false)
	h.d.Reload()
	h.until("both workers", workersNamed("ruby-1", "ruby-2"))
	h.stop()
}

// TestLiveResyncEditResetsTicker: a reconcile.resync edit is taken live: passes then run at
// the new interval with nothing else asking for them.
func TestLiveResyncEditResetsTicker(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	h.start()
	h.until("one worker", workersNamed("ruby-1"))
	prev := h.d.Status()
	h.writeRaw(strings.Replace(fleetSrc{vms: 1}.render(h.stateDir, h.redis.URL), `resync = "1h"`, `resync = "1s"`, 1))
	st := h.accepted(prev)
	h.until("passes on the new resync", func(s control.Status) bool { return s.Reconcile.Passes >= st.Reconcile.Passes+3 })
	h.stop()
}

// TestLiveQueueMoveDeliversTheOldOutboxFirst: the old Redis dies after the queue moved, while
// a job started there still runs: its result waits in the old queue's outbox, the worker goes
// on with the new queue, and the old queue is kept until the result is delivered once its
// Redis is back. No result is lost.
func TestLiveQueueMoveDeliversTheOldOutboxFirst(t *testing.T) {
	old := redistest.StartPersistent(t)
	h := newHarnessOn(t, fleetSrc{vms: 1}, old)
	other := redistest.Start(t)
	oq, err := queue.Open(queue.Config{URL: other.URL, Host: "test-submitter"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer oq.Close()
	h.start()
	h.until("one worker", workersNamed("ruby-1"))
	h.submit("job-1")
	if id := h.started(); id != "job-1" {
		t.Fatalf("started %s", id)
	}
	prev := h.d.Status()
	h.writeRaw(fleetSrc{vms: 1}.render(h.stateDir, other.URL))
	h.accepted(prev)

	old.Kill()
	h.jobs.finish("job-1", queue.StatePassed) // recorded into the old queue's outbox
	if _, err := oq.Submit(context.Background(), "builds", queue.Args{ID: "job-2", Repository: queue.Repository{Slug: "o/r", URL: "https://example.org/o/r.git"},
		Commit: "0123456789abcdef", Script: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if id := h.started(); id != "job-2" {
		t.Fatalf("started %s, want job-2 from the new Redis while the old one is down", id)
	}
	old.Restart()
	h.until("job-1's result delivered to the old Redis", func(control.Status) bool {
		st, err := h.tq.JobStatus(context.Background(), "job-1")
		return err == nil && st.State == queue.StatePassed
	})
	h.jobs.finish("job-2", queue.StatePassed)
	h.until("job-2 recorded", func(st control.Status) bool {
		v := vmByName(st, "ruby-1")
		return v != nil && v.Last != nil && v.Last.ID == "job-2"
	})
	h.stop()
}
