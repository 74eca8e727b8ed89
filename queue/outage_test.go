package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// counter is a go-redis hook that counts commands and dial attempts.
type counter struct{ cmds, dials atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c.dials.Add(1)
		return next(ctx, network, addr)
	}
}

func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.cmds.Add(1)
		return next(ctx, cmds)
	}
}

// outageEnv is a persistent redis-server (it keeps its data across Kill and Restart) and
// clients that each have their own connection, so each sees the outage itself.
type outageEnv struct {
	*testEnv
	outbox string
}

func newOutageEnv(t *testing.T) *outageEnv {
	t.Helper()
	srv := redistest.StartPersistent(t)
	return &outageEnv{testEnv: &testEnv{srv: srv, rdb: srv.Client(t)}, outbox: filepath.Join(t.TempDir(), "outbox")}
}

// own returns a Client on its own connection, made by Dial (with hk, when not nil, counting its traffic)
// and the outage env's outbox folder.
func (e *outageEnv) own(t *testing.T, cfg Config, hk *counter) *Client {
	t.Helper()
	rdb, err := Dial(e.srv.URL) // as the agent connects
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	if hk != nil {
		rdb.AddHook(hk)
	}
	if cfg.Host == "" {
		cfg.Host = "build-01"
	}
	if cfg.OutboxDir == "" {
		cfg.OutboxDir = e.outbox
	}
	c, err := New(rdb, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// endWhileDown has a slot of c fetch job id, then kills Redis, finishes the job with r (it
// goes to the outbox) and restarts Redis. It returns the slot.
func (e *outageEnv) endWhileDown(t *testing.T, c *Client, id string, r Result) *Slot {
	t.Helper()
	s := e.slot(t, c, "0", "builds")
	e.submit(t, c, "builds", id)
	j, err := s.Fetch(fetchCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Kill()
	if err := s.Finish(fetchCtx(t), j, r); err != nil {
		t.Fatalf("finish while Redis is down: %v", err)
	}
	if c.Pending() != 1 {
		t.Fatalf("%d outbox entries after finishing while Redis is down, want 1", c.Pending())
	}
	e.srv.Restart()
	return s
}

// run runs c.Run until the test ends.
func run(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// eventually waits (at most a minute) for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func (e *outageEnv) llen(t *testing.T, key string) int64 {
	t.Helper()
	n, err := e.rdb.LLen(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *outageEnv) processed(t *testing.T) int {
	t.Helper()
	n, err := e.rdb.Get(context.Background(), "resque:stat:processed").Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	return n
}

// TestFetchWaitsWithoutSpinningWhileRedisIsDownAndResumes: with Redis killed, a waiting
// Fetch and the client's Run loop (heartbeat, reaper, outbox) back off (a handful of commands
// per second, not thousands) and Fetch returns no error; a
// job held in a processing list survives the restart and can be finished; once Redis is
// back the same Fetch call picks up the next job.
func TestFetchWaitsWithoutSpinningWhileRedisIsDownAndResumes(t *testing.T) {
	e := newOutageEnv(t)
	ctx := fetchCtx(t)
	hk := &counter{}
	c := e.own(t, Config{}, hk)
	holder := e.slot(t, c, "0", "builds")
	waiter := e.slot(t, c, "1", "builds")
	e.submit(t, c, "builds", "held")
	held, err := holder.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type fetched struct {
		job *Job
		err error
	}
	got := make(chan fetched, 1)
	go func() { j, err := waiter.Fetch(ctx); got <- fetched{j, err} }()
	run(t, c) // the heartbeat, reaper and outbox loops count too

	e.srv.Kill()
	cmds0, dials0, t0 := hk.cmds.Load(), hk.dials.Load(), time.Now()
	time.Sleep(3 * time.Second)
	cmds, dials, took := hk.cmds.Load()-cmds0, hk.dials.Load()-dials0, time.Since(t0).Seconds()
	t.Logf("while Redis was down: %d commands (%.1f/s), %d dial attempts (%.1f/s)", cmds, float64(cmds)/took, dials, float64(dials)/took)
	// The backoff doubles from 100ms to 5s: about 6 tries in 3s per loop. Spinning would be
	// thousands. go-redis itself retries each command's dial a few times with a backoff of its own.
	if cmds > 30 || dials > 200 {
		t.Errorf("%d commands and %d dials in %.1fs while Redis was down: Fetch spins", cmds, dials, took)
	}
	select {
	case f := <-got:
		t.Fatalf("Fetch returned while Redis was down: %v, %v", f.job, f.err)
	default:
	}

	e.srv.Restart()
	if n := e.llen(t, "resque:fleet:processing:"+holder.ID()+":builds"); n != 1 {
		t.Fatalf("processing list of the held job has %d entries after the restart, want 1", n)
	}
	if err := holder.Finish(ctx, held, Result{State: StatePassed}); err != nil {
		t.Fatalf("finish after restart: %v", err)
	}
	e.submit(t, c, "builds", "after")
	f := <-got
	if f.err != nil || f.job.ID != "after" {
		t.Fatalf("Fetch after the restart = %v, %v; want job after", f.job, f.err)
	}
}

// TestResultsOfJobsThatEndWhileRedisIsDownAreDeliveredExactlyOnce: Finish and Requeue while
// Redis is down keep the result in the outbox (one file each) and return nil; once Redis is
// back Run delivers them: the passed job is recorded once (delivering the same entry again
// records nothing), the requeued one is back at the head of its queue, and the outbox is
// empty.
func TestResultsOfJobsThatEndWhileRedisIsDownAreDeliveredExactlyOnce(t *testing.T) {
	e := newOutageEnv(t)
	ctx := fetchCtx(t)
	c := e.own(t, Config{}, nil)
	s0, s1 := e.slot(t, c, "0", "builds"), e.slot(t, c, "1", "builds")
	e.submit(t, c, "builds", "passes")
	e.submit(t, c, "builds", "requeued")
	j0, err := s0.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j1, err := s1.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}

	e.srv.Kill()
	if err := s0.Finish(ctx, j0, Result{State: StatePassed}); err != nil {
		t.Fatalf("Finish while Redis is down: %v", err)
	}
	if err := s1.Requeue(ctx, j1); err != nil {
		t.Fatalf("Requeue while Redis is down: %v", err)
	}
	if s0.Current() != nil || s1.Current() != nil {
		t.Fatal("a slot still holds its job after handing it to the outbox")
	}
	files, _ := filepath.Glob(filepath.Join(e.outbox, "*.json"))
	if len(files) != 2 || c.Pending() != 2 {
		t.Fatalf("outbox holds %d files, %d pending; want 2", len(files), c.Pending())
	}
	entry, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}

	e.srv.Restart()
	run(t, c)
	eventually(t, "the outbox to be delivered", func() bool { return c.Pending() == 0 })
	st, err := c.JobStatus(ctx, "passes")
	if err != nil || st.State != StatePassed {
		t.Fatalf("job passes: %+v, %v; want passed", st, err)
	}
	if n := e.processed(t); n != 1 {
		t.Fatalf("resque:stat:processed = %d, want 1", n)
	}
	head, err := e.rdb.LIndex(ctx, "resque:queue:builds", 0).Result()
	if err != nil || head != string(j1.Raw) {
		t.Fatalf("head of builds = %q, %v; want the requeued payload", head, err)
	}
	for _, s := range []*Slot{s0, s1} {
		if n := e.llen(t, "resque:fleet:processing:"+s.ID()+":builds"); n != 0 {
			t.Fatalf("%s's processing list holds %d payloads", s.ID(), n)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(e.outbox, "*.json")); len(files) != 0 {
		t.Fatalf("outbox files left: %v", files)
	}

	// An agent killed after delivering but before removing the file delivers it again.
	if err := os.WriteFile(files[0], entry, 0o600); err != nil {
		t.Fatal(err)
	}
	again := e.own(t, Config{}, nil)
	if err := again.deliverOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.processed(t); n != 1 {
		t.Fatalf("after delivering an entry twice resque:stat:processed = %d, want 1", n)
	}
	if n := e.llen(t, "resque:queue:builds"); n != 1 {
		t.Fatalf("after delivering an entry twice builds holds %d payloads, want 1", n)
	}
}

// TestOutboxIsDeliveredByTheNextAgentBeforeItsReaperRuns: an agent whose job ended while
// Redis was down is killed; the next agent on the host (same outbox, another pid) delivers
// the result once Redis is back, and its reaper does not hand the dead worker's job back
// first (no second attempt, nothing in fleet:recovered).
func TestOutboxIsDeliveredByTheNextAgentBeforeItsReaperRuns(t *testing.T) {
	e := newOutageEnv(t)
	ctx := fetchCtx(t)
	gone := e.own(t, Config{PID: deadPID(t)}, nil)
	s := e.endWhileDown(t, gone, "outlives", Result{State: StateFailed, ExitCode: 3})

	next := e.own(t, Config{}, nil)
	if next.Pending() != 1 {
		t.Fatalf("the next agent found %d outbox entries, want 1", next.Pending())
	}
	run(t, next)
	eventually(t, "the outbox to be delivered", func() bool { return next.Pending() == 0 })
	eventually(t, "the dead worker to leave resque:workers", func() bool {
		ok, err := e.rdb.SIsMember(ctx, "resque:workers", s.ID()).Result()
		return err == nil && !ok
	})
	st, err := next.JobStatus(ctx, "outlives")
	if err != nil || st.State != StateFailed || st.ExitCode != 3 || st.Attempt != 1 {
		t.Fatalf("job: %+v, %v; want failed with exit code 3 by attempt 1", st, err)
	}
	if n := e.llen(t, "resque:fleet:recovered"); n != 0 {
		t.Fatalf("fleet:recovered holds %d records: the reaper took the job back", n)
	}
	if n := e.llen(t, "resque:queue:builds"); n != 0 {
		t.Fatalf("builds holds %d payloads: the job was requeued", n)
	}
}

// TestOutboxResultOfAJobAnotherHostTookOverIsDiscarded: a job ends while its host cannot
// reach Redis; meanwhile the host's lease ends and another host's reaper requeues the job.
// Delivering the outbox then records nothing (a stale attempt), and the entry is gone.
func TestOutboxResultOfAJobAnotherHostTookOverIsDiscarded(t *testing.T) {
	e := newOutageEnv(t)
	ctx := fetchCtx(t)
	cut := e.own(t, Config{Host: "cut-01"}, nil)
	e.endWhileDown(t, cut, "taken-over", Result{State: StatePassed})
	e.endLease(t, "cut-01")
	other := e.own(t, Config{Host: "live-01", OutboxDir: filepath.Join(t.TempDir(), "other")}, nil)
	rep, err := other.Recover(ctx)
	if err != nil || rep.Requeued != 1 {
		t.Fatalf("recover by live-01: %+v, %v; want 1 requeued", rep, err)
	}

	if err := cut.deliverOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	if cut.Pending() != 0 {
		t.Fatalf("%d entries left in the outbox", cut.Pending())
	}
	st, err := cut.JobStatus(ctx, "taken-over")
	if err != nil || st.State != StateQueued {
		t.Fatalf("job: %+v, %v; want queued (the stale result discarded)", st, err)
	}
	if n := e.processed(t); n != 0 {
		t.Fatalf("resque:stat:processed = %d, want 0", n)
	}
}

// TestReaperWaitsOneLeaseAfterAnOutage: after an outage longer than the lease, every lease
// has ended in Redis; a reaper that has just seen Redis come back leaves the other hosts'
// workers alone until they have had one lease to heartbeat again.
func TestReaperWaitsOneLeaseAfterAnOutage(t *testing.T) {
	e := newOutageEnv(t)
	ctx := fetchCtx(t)
	const lease = 3 * time.Second
	other := e.own(t, Config{Host: "other-01", HostLease: lease, HeartbeatInterval: time.Second}, nil)
	s := e.slot(t, other, "0", "builds")
	e.submit(t, other, "builds", "kept")
	if _, err := s.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	reaper := e.own(t, Config{Host: "reaper-01", HostLease: lease, HeartbeatInterval: time.Second}, nil)
	e.srv.Kill()
	if err := reaper.Heartbeat(ctx); err == nil {
		t.Fatal("heartbeat with Redis down succeeded")
	}
	e.srv.Restart()
	e.endLease(t, "other-01") // the outage outlasted the lease
	rep, err := reaper.Recover(ctx)
	if err != nil || rep.Requeued != 0 || len(rep.Workers) != 0 {
		t.Fatalf("recover right after the outage: %+v, %v; want nothing taken", rep, err)
	}
	eventually(t, "the reaper to take the job once other-01 had a lease to heartbeat", func() bool {
		rep, err := reaper.Recover(ctx)
		return err == nil && rep.Requeued == 1
	})
}

// redisReply is an error reply from Redis.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (e redisReply) RedisError()   {}

// TestTransientTellsOutagesFromBadCommands: connection failures and the replies of a server
// that is loading, demoted or failing over are transient, also wrapped; other replies,
// redis.Nil and a canceled context are not.
func TestTransientTellsOutagesFromBadCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"reset", fmt.Errorf("fetch: %w", syscall.ECONNRESET), true},
		{"eof", fmt.Errorf("fetch: %w", io.EOF), true},
		{"loading wrapped", fmt.Errorf("fetch w: processing list: %w", redisReply("LOADING Redis is loading the dataset in memory")), true},
		{"readonly", redisReply("READONLY You can't write against a read only replica."), true},
		{"masterdown", redisReply("MASTERDOWN Link with MASTER is down"), true},
		{"deadline", context.DeadlineExceeded, true},
		{"wrongtype", fmt.Errorf("x: %w", redisReply("WRONGTYPE Operation against a key holding the wrong kind of value")), false},
		{"noperm", redisReply("NOPERM this user has no permissions"), false},
		{"nil", redis.Nil, false},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Transient(tc.err); got != tc.want {
				t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestFetchTakesUpAPayloadWhoseFetchTheOutageCutOff: a payload sits in the slot's processing
// list without the slot holding it (the connection broke between the server's move and its
// reply). Once Redis is back after the outage, Fetch returns that job before anything
// queued, so it is neither lost nor left in the list.
func TestFetchTakesUpAPayloadWhoseFetchTheOutageCutOff(t *testing.T) {
	e := newOutageEnv(t)
	ctx := fetchCtx(t)
	c := e.own(t, Config{}, nil)
	s := e.slot(t, c, "0", "builds")
	e.submit(t, c, "builds", "cut-off")
	e.submit(t, c, "builds", "queued")
	// What BLMOVE did on the server before the connection broke.
	if err := e.rdb.LMove(ctx, "resque:queue:builds", "resque:fleet:processing:"+s.ID()+":builds", "LEFT", "RIGHT").Err(); err != nil {
		t.Fatal(err)
	}
	e.srv.Kill()
	type fetched struct {
		job *Job
		err error
	}
	got := make(chan fetched, 1)
	go func() { j, err := s.Fetch(ctx); got <- fetched{j, err} }()
	time.Sleep(500 * time.Millisecond) // Fetch meets the outage
	e.srv.Restart()
	f := <-got
	if f.err != nil || f.job.ID != "cut-off" {
		t.Fatalf("Fetch = %v, %v; want job cut-off", f.job, f.err)
	}
	if err := s.Finish(ctx, f.job, Result{State: StatePassed}); err != nil {
		t.Fatal(err)
	}
	if n := e.llen(t, "resque:fleet:processing:"+s.ID()+":builds"); n != 0 {
		t.Fatalf("processing list holds %d payloads after finishing, want 0", n)
	}
	if n := e.llen(t, "resque:queue:builds"); n != 1 {
		t.Fatalf("builds holds %d payloads, want 1 (job queued untouched)", n)
	}
}
