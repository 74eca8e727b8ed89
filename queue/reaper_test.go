package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
)

// endLease marks host's lease as ended a second ago, as if it stopped heartbeating.
func (e *testEnv) endLease(t testing.TB, host string) {
	t.Helper()
	err := e.rdb.ZAdd(context.Background(), "resque:fleet:leases",
		redis.Z{Member: host, Score: float64(time.Now().Add(-time.Second).UnixMilli())}).Err()
	if err != nil {
		t.Fatal(err)
	}
}

// deadHostWithJob returns a slot of host "dead-01" holding job id, its lease ended.
func (e *testEnv) deadHostWithJob(t testing.TB, id string) (*Client, *Slot, *Job) {
	t.Helper()
	dead := e.client(t, Config{Host: "dead-01"})
	s := e.slot(t, dead, "0", "builds")
	e.submit(t, dead, "builds", id)
	j, err := s.Fetch(fetchCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	e.endLease(t, "dead-01")
	return dead, s, j
}

func TestManyReapersRequeueADeadWorkersJobExactlyOnce(t *testing.T) {
	const reapers = 8
	e := newEnv(t)
	ctx := context.Background()
	_, s, _ := e.deadHostWithJob(t, "stranded")

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		total   RecoverReport
		errs    []error
		counted int
	)
	start := make(chan struct{})
	for i := range reapers {
		c := e.client(t, Config{Host: fmt.Sprintf("live-%02d", i),
			OnRecovered: func(bool) { mu.Lock(); counted++; mu.Unlock() }})
		wg.Go(func() {
			<-start
			rep, err := c.Recover(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			total.Requeued += rep.Requeued
			total.Poisoned += rep.Poisoned
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("recover errors: %v", errs)
	}
	if total.Requeued != 1 || total.Poisoned != 0 || counted != 1 {
		t.Errorf("requeued %d poisoned %d counted %d across %d reapers, want exactly one requeue",
			total.Requeued, total.Poisoned, counted, reapers)
	}
	if q, _ := e.rdb.LRange(ctx, "resque:queue:builds", 0, -1).Result(); len(q) != 1 {
		t.Errorf("queue holds %d payloads, want 1", len(q))
	}
	if n, _ := e.rdb.LLen(ctx, "resque:fleet:processing:"+s.ID()+":builds").Result(); n != 0 {
		t.Errorf("processing list holds %d payloads, want 0", n)
	}
	if ok, _ := e.rdb.SIsMember(ctx, "resque:workers", s.ID()).Result(); ok {
		t.Error("dead worker still in resque:workers")
	}
	recs, _ := e.rdb.LRange(ctx, "resque:fleet:recovered", 0, -1).Result()
	if len(recs) != 1 {
		t.Fatalf("fleet:recovered has %d records, want 1: %q", len(recs), recs)
	}
	var got Recovered
	if err := json.Unmarshal([]byte(recs[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := Recovered{JobID: "stranded", Queue: "builds", DeadHost: "dead-01", DeadWorker: s.ID(), Attempt: 2}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(Recovered{}, "At")); d != "" {
		t.Errorf("recovered record (-want +got):\n%s", d)
	}

	live := e.client(t, Config{Host: "live-00"})
	j, err := e.slot(t, live, "0", "builds").Fetch(fetchCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != "stranded" || j.Attempt != 2 {
		t.Errorf("refetched %s attempt %d, want stranded attempt 2", j.ID, j.Attempt)
	}
}

func TestLiveHostsLeaseKeepsItsJobs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	host := e.client(t, Config{Host: "busy-01"})
	s := e.slot(t, host, "0", "builds")
	e.submit(t, host, "builds", "running")
	if _, err := s.Fetch(fetchCtx(t)); err != nil {
		t.Fatal(err)
	}
	// An old heartbeat alone does not make a leased host dead.
	e.rdb.HSet(ctx, "resque:workers:heartbeat", s.ID(), time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	if err := host.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := e.client(t, Config{Host: "live-01"}).Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requeued != 0 || len(rep.Workers) != 0 {
		t.Errorf("recovered %+v from a host whose lease is live", rep)
	}
	leases, now, err := host.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(leases) != 1 || leases[0].Host != "busy-01" || leases[0].Until.Sub(now) < 29*time.Second {
		t.Errorf("leases = %+v at %v, want busy-01 until about 30s after Redis time", leases, now)
	}
}

func TestHeartbeatRegistersAReapedLiveSlotAgain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cut, s, _ := e.deadHostWithJob(t, "cutoff")
	if _, err := e.client(t, Config{Host: "live-01"}).Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.rdb.SIsMember(ctx, "resque:workers", s.ID()).Result(); ok {
		t.Fatal("reaped worker still registered")
	}
	if err := cut.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"resque:workers", "resque:fleet:slots"} {
		if ok, _ := e.rdb.SIsMember(ctx, key, s.ID()).Result(); !ok {
			t.Errorf("%s lacks the slot after it heartbeat again", key)
		}
	}
}

func TestStaleAttemptPublishesNothing(t *testing.T) {
	tests := []struct {
		name     string
		refetch  bool // another host starts attempt 2 before the stale host comes back
		wantFrom string
	}{
		{"taken over and running elsewhere", true, "live-01"},
		{"requeued, not yet started again", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			stale, s, j := e.deadHostWithJob(t, "fenced")
			wctx, stop := stale.WatchCancel(ctx, "fenced")
			defer stop()
			if err := stale.AppendLog(ctx, "fenced", []byte("attempt 1 line\n")); err != nil {
				t.Fatalf("append before takeover: %v", err)
			}
			live := e.client(t, Config{Host: "live-01"})
			if _, err := live.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			var ls *Slot
			var lj *Job
			if tt.refetch {
				ls = e.slot(t, live, "0", "builds")
				var err error
				if lj, err = ls.Fetch(fetchCtx(t)); err != nil {
					t.Fatal(err)
				}
			}
			if err := stale.AppendLog(ctx, "fenced", []byte("attempt 1 late line\n")); !errors.Is(err, ErrStale) {
				t.Errorf("stale append: err = %v, want ErrStale", err)
			}
			select {
			case <-wctx.Done():
			case <-fetchCtx(t).Done():
				t.Fatal("the stale attempt's cancel watch never fired")
			}
			if cause := context.Cause(wctx); !errors.Is(cause, ErrStale) {
				t.Errorf("cancel watch cause = %v, want ErrStale", cause)
			}
			if err := s.Finish(ctx, j, Result{State: StateFailed, ExitCode: 1}); !errors.Is(err, ErrStale) {
				t.Errorf("stale finish: err = %v, want ErrStale", err)
			}
			if s.Current() != nil {
				t.Error("stale slot still holds the job")
			}
			st, err := live.JobStatus(ctx, "fenced")
			if err != nil {
				t.Fatal(err)
			}
			if st.State.Terminal() {
				t.Errorf("state = %s after the stale finish, want not terminal", st.State)
			}
			if n, _ := e.rdb.LLen(ctx, "resque:failed").Result(); n != 0 {
				t.Errorf("resque:failed has %d records, want 0", n)
			}
			logs, _ := e.rdb.LRange(ctx, "resque:fleet:job:fenced:log", 0, -1).Result()
			if d := cmp.Diff([]string{"1 attempt 1 line\n"}, logs); d != "" {
				t.Errorf("log (-want +got):\n%s", d)
			}
			if !tt.refetch {
				if n, _ := e.rdb.LLen(ctx, "resque:queue:builds").Result(); n != 1 {
					t.Errorf("queue holds %d payloads, want the requeued 1", n)
				}
				return
			}
			if err := ls.Finish(ctx, lj, Result{State: StatePassed}); err != nil {
				t.Fatalf("finish of the live attempt: %v", err)
			}
			rec, _ := e.rdb.HGetAll(ctx, "resque:fleet:job:fenced").Result()
			if rec["state"] != "passed" || rec["host"] != tt.wantFrom || rec["attempt"] != "2" {
				t.Errorf("job record = %v, want passed on %s attempt 2", rec, tt.wantFrom)
			}
		})
	}
}

// TestRubyResquePruneLeavesNothingStranded writes what Ruby Resque's
// prune_dead_workers writes for a worker whose heartbeat is older than its
// prune interval (unregister_worker with PruneDeadWorkerDirtyExit): the
// worker leaves the registry and its "working on" job is pushed to failed.
// The payload in the agent's processing list still goes back to its queue.
func TestRubyResquePruneLeavesNothingStranded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, s, j := e.deadHostWithJob(t, "pruned")
	id := s.ID()
	_, err := e.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.RPush(ctx, "resque:failed", fmt.Sprintf(
			`{"failed_at":"2026/12/03 23:00:00 UTC","payload":%s,"exception":"Resque::PruneDeadWorkerDirtyExit","error":"Worker %s did not gracefully exit while processing Fleet::Build","backtrace":[],"worker":%q,"queue":"builds"}`,
			j.Raw, id, id))
		p.Incr(ctx, "resque:stat:failed")
		p.SRem(ctx, "resque:workers", id)
		p.HDel(ctx, "resque:workers:heartbeat", id)
		p.Del(ctx, "resque:worker:"+id, "resque:worker:"+id+":started",
			"resque:stat:processed:"+id, "resque:stat:failed:"+id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.client(t, Config{Host: "live-01"}).Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requeued != 1 {
		t.Errorf("requeued %d after Resque pruned the worker, want 1", rep.Requeued)
	}
	if n, _ := e.rdb.LLen(ctx, "resque:queue:builds").Result(); n != 1 {
		t.Errorf("queue holds %d payloads, want 1", n)
	}
	if ok, _ := e.rdb.SIsMember(ctx, "resque:fleet:slots", id).Result(); ok {
		t.Error("pruned worker still in fleet:slots")
	}
}

// TestAFetchWhoseHostFrozeAfterTheMoveStartsNothingOnceReaped: host A's fetch moved a
// payload into A's processing list, then A froze before starting the job (SIGSTOP between
// the server's move and its reply). A reaper hands the job back, host B runs it to its end.
// When A resumes and starts what it fetched, nothing happens: no new fence, the job record
// keeps B's result, A holds no job, and Resque counts one result.
func TestAFetchWhoseHostFrozeAfterTheMoveStartsNothingOnceReaped(t *testing.T) {
	e := newEnv(t)
	ctx := fetchCtx(t)
	frozen := e.client(t, Config{Host: "frozen-01"})
	a := e.slot(t, frozen, "0", "builds")
	e.submit(t, frozen, "builds", "moved")
	raw, err := e.rdb.LMove(ctx, "resque:queue:builds", "resque:fleet:processing:"+a.ID()+":builds", "LEFT", "RIGHT").Result()
	if err != nil {
		t.Fatal(err)
	}
	e.endLease(t, "frozen-01")
	live := e.client(t, Config{Host: "live-01"})
	if rep, err := live.Recover(ctx); err != nil || rep.Requeued != 1 {
		t.Fatalf("recover: %+v, %v; want 1 requeued", rep, err)
	}
	b := e.slot(t, live, "0", "builds")
	jb, err := b.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Finish(ctx, jb, Result{State: StatePassed}); err != nil {
		t.Fatal(err)
	}

	if _, err := a.begin(ctx, "builds", []byte(raw)); !errors.Is(err, errTakenOver) {
		t.Fatalf("begin of the reaped payload on A = %v, want errTakenOver", err)
	}
	if a.Current() != nil {
		t.Fatal("A holds the job")
	}
	st, err := live.JobStatus(ctx, "moved")
	if err != nil || st.State != StatePassed || st.Host != "live-01" || st.Attempt != 2 {
		t.Fatalf("job: %+v, %v; want passed on live-01 as attempt 2", st, err)
	}
	if fence, _ := e.rdb.HGet(ctx, "resque:fleet:job:moved", "fence").Int64(); fence != jb.Fence {
		t.Fatalf("fence = %d, want B's %d", fence, jb.Fence)
	}
	if n, _ := e.rdb.Get(ctx, "resque:stat:processed").Int(); n != 1 {
		t.Fatalf("processed = %d, want 1", n)
	}
}
