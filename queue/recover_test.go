package queue

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run true: %v", err)
	}
	return cmd.Process.Pid
}

func TestRecoverDecidesWhichOwnersAreGone(t *testing.T) {
	tests := []struct {
		name      string
		host      string
		pid       func(t *testing.T) int
		beatAge   time.Duration
		noBeat    bool
		lease     time.Duration // >0: the host's lease ends this far from now; <0: ended that long ago
		recovered bool
	}{
		{"dead pid, fresh heartbeat", "build-01", deadPID, 0, false, 0, true},
		{"live pid, fresh heartbeat", "build-01", func(*testing.T) int { return os.Getppid() }, 0, false, 0, false},
		{"live pid, expired heartbeat", "build-01", func(*testing.T) int { return os.Getppid() }, 10 * time.Minute, false, 0, true},
		{"live pid, no heartbeat", "build-01", func(*testing.T) int { return os.Getppid() }, 0, true, 0, true},
		{"our own pid, earlier incarnation", "build-01", func(*testing.T) int { return os.Getpid() }, 0, false, 0, true},
		{"other host, no lease, expired heartbeat", "build-02", deadPID, 10 * time.Minute, false, 0, true},
		{"other host, no lease, fresh heartbeat", "build-02", deadPID, 0, false, 0, false},
		{"other host, live lease, expired heartbeat", "build-02", deadPID, 10 * time.Minute, false, time.Minute, false},
		{"other host, ended lease, fresh heartbeat", "build-02", deadPID, 0, false, -time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			old := e.client(t, Config{Host: tt.host, PID: tt.pid(t)})
			s := e.slot(t, old, "0", "builds")
			e.submit(t, old, "builds", "orphan")
			if _, err := s.Fetch(fetchCtx(t)); err != nil {
				t.Fatal(err)
			}
			beat := time.Now().Add(-tt.beatAge).UTC().Format(time.RFC3339)
			if tt.noBeat {
				e.rdb.HDel(ctx, "resque:workers:heartbeat", s.ID())
			} else {
				e.rdb.HSet(ctx, "resque:workers:heartbeat", s.ID(), beat)
			}
			if tt.lease != 0 {
				e.rdb.ZAdd(ctx, "resque:fleet:leases", redis.Z{Member: tt.host,
					Score: float64(time.Now().Add(tt.lease).UnixMilli())})
			}
			// The recoverer is a different Client: the old one's slots
			// are not registered there.
			c := e.client(t, Config{})
			rep, err := c.Recover(ctx)
			if err != nil {
				t.Fatal(err)
			}
			queued, _ := e.rdb.LLen(ctx, "resque:queue:builds").Result()
			if got := queued == 1; got != tt.recovered {
				t.Fatalf("recovered = %v (report %+v), want %v", got, rep, tt.recovered)
			}
			if !tt.recovered {
				return
			}
			if d := cmp.Diff(RecoverReport{Workers: []string{s.ID()}, Requeued: 1}, rep); d != "" {
				t.Errorf("report (-want +got):\n%s", d)
			}
			if ok, _ := e.rdb.SIsMember(ctx, "resque:workers", s.ID()).Result(); ok {
				t.Error("dead worker still registered")
			}
			if st, _ := c.JobStatus(ctx, "orphan"); st.State != StateQueued {
				t.Errorf("state = %s, want queued", st.State)
			}
		})
	}
}

func TestRecoverPutsJobAtHeadAndCountsAttempts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, Config{MaxAttempts: 3})
	e.submit(t, c, "builds", "first")
	e.submit(t, c, "builds", "second")
	for attempt := 1; attempt <= 3; attempt++ {
		dead := e.client(t, Config{PID: deadPID(t)})
		s := e.slot(t, dead, "0", "builds")
		j, err := s.Fetch(fetchCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if j.ID != "first" || j.Attempt != attempt {
			t.Fatalf("fetched %s attempt %d, want first attempt %d", j.ID, j.Attempt, attempt)
		}
		rep, err := c.Recover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := RecoverReport{Workers: []string{s.ID()}, Requeued: 1}
		if attempt == 3 {
			want = RecoverReport{Workers: []string{s.ID()}, Poisoned: 1}
		}
		if d := cmp.Diff(want, rep); d != "" {
			t.Fatalf("attempt %d: report (-want +got):\n%s", attempt, d)
		}
	}
	q, _ := e.rdb.LRange(ctx, "resque:queue:builds", 0, -1).Result()
	if len(q) != 1 || !strings.Contains(q[0], `"id":"second"`) {
		t.Errorf("queue = %v, want only the second job", q)
	}
	rec, _ := e.rdb.LIndex(ctx, "resque:failed", 0).Result()
	var f struct{ Exception, Error string }
	_ = json.Unmarshal([]byte(rec), &f)
	if f.Exception != "Fleet::PoisonJob" || !strings.Contains(f.Error, "started 3 times") {
		t.Errorf("poison record = %s", rec)
	}
	if n, _ := e.rdb.HLen(ctx, "resque:fleet:attempts").Result(); n != 0 {
		t.Errorf("attempts hash has %d entries after the poison job left, want 0", n)
	}
	if st, _ := c.JobStatus(ctx, "first"); st.State != StateErrored {
		t.Errorf("poison job state = %s, want errored", st.State)
	}
}

func TestRequeueCountsAnAttempt(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{MaxAttempts: 2})
	s := e.slot(t, c, "0", "builds")
	e.submit(t, c, "builds", "flaky-vm")
	ctx := fetchCtx(t)
	j, _ := s.Fetch(ctx)
	if err := s.Requeue(ctx, j); err != nil {
		t.Fatal(err)
	}
	j, err := s.Fetch(ctx)
	if err != nil || j.Attempt != 2 {
		t.Fatalf("refetch: %v attempt %d, want attempt 2", err, j.Attempt)
	}
	if err := s.Requeue(ctx, j); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.rdb.LLen(ctx, "resque:failed").Result(); n != 1 {
		t.Errorf("failed = %d after MaxAttempts requeues, want 1", n)
	}
	if n, _ := e.rdb.LLen(ctx, "resque:queue:builds").Result(); n != 0 {
		t.Errorf("queue = %d, want 0", n)
	}
}

// The crash test runs real worker processes: this test binary re-executed
// in helper mode (see TestMain). Each helper registers a slot, recovers
// orphans, fetches one job, counts the run in Redis, prints "holding" and
// then either finishes the job or waits to be killed.
const helperEnv = "FLEET_QUEUE_CRASH_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(crashHelper(mode))
	}
	os.Exit(m.Run())
}

func crashHelper(mode string) int {
	ctx := context.Background()
	rdb, err := Dial(os.Getenv("FLEET_QUEUE_URL"))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	c, err := New(rdb, Config{Host: "build-01", MaxAttempts: 3}, nil)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if _, err := c.Recover(ctx); err != nil {
		fmt.Println("error", err)
		return 1
	}
	s, _ := c.NewSlot("0", []string{"builds"})
	if err := s.Register(ctx); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	j, err := s.Fetch(fctx)
	if err != nil {
		fmt.Println("nothing", err)
		_ = s.Unregister(ctx)
		return 0
	}
	runs := rdb.Incr(ctx, "test:runs:"+j.ID).Val()
	fmt.Println("holding", j.ID, j.Attempt, runs)
	if mode == "hang" {
		select {} // until SIGKILL
	}
	if err := s.Finish(ctx, j, Result{State: StatePassed}); err != nil {
		fmt.Println("error", err)
		return 1
	}
	_ = s.Unregister(ctx)
	return 0
}

type helperResult struct {
	line string
	cmd  *exec.Cmd
}

// startHelper runs one helper process and returns its first line.
func startHelper(t *testing.T, url, mode string) helperResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "FLEET_QUEUE_URL="+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper output: %v", err)
	}
	return helperResult{strings.TrimSpace(line), cmd}
}

func killHelper(t *testing.T, h helperResult) {
	t.Helper()
	if err := h.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = h.cmd.Wait()
}

func TestCrashedWorkerJobRunsExactlyOnceMore(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, Config{})
	e.submit(t, c, "builds", "crashy")
	e.submit(t, c, "builds", "after")

	h := startHelper(t, e.srv.URL, "hang")
	if h.line != "holding crashy 1 1" {
		t.Fatalf("first worker: %q", h.line)
	}
	killHelper(t, h)

	// A new worker process recovers the job at start-up and runs it.
	h = startHelper(t, e.srv.URL, "finish")
	if h.line != "holding crashy 2 2" {
		t.Fatalf("second worker: %q, want the recovered job on attempt 2, run 2", h.line)
	}
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("second worker: %v", err)
	}
	h = startHelper(t, e.srv.URL, "finish")
	if h.line != "holding after 1 1" {
		t.Fatalf("third worker: %q, want the next job", h.line)
	}
	_ = h.cmd.Wait()

	st, _ := c.JobStatus(ctx, "crashy")
	if st.State != StatePassed || st.Attempt != 2 {
		t.Errorf("crashy = %+v, want passed on attempt 2", st)
	}
	runs, _ := e.rdb.Get(ctx, "test:runs:crashy").Int()
	if runs != 2 {
		t.Errorf("crashy ran %d times, want 2", runs)
	}
	assertQueueDrained(t, e)
}

func TestPoisonJobStopsAfterMaxAttempts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(t, Config{MaxAttempts: 3})
	e.submit(t, c, "builds", "poison")
	for attempt := 1; attempt <= 3; attempt++ {
		h := startHelper(t, e.srv.URL, "hang")
		if want := fmt.Sprintf("holding poison %d %d", attempt, attempt); h.line != want {
			t.Fatalf("worker %d: %q, want %q", attempt, h.line, want)
		}
		killHelper(t, h)
	}
	h := startHelper(t, e.srv.URL, "finish")
	if !strings.HasPrefix(h.line, "nothing") {
		t.Fatalf("fourth worker: %q, want no job", h.line)
	}
	_ = h.cmd.Wait()
	runs, _ := e.rdb.Get(ctx, "test:runs:poison").Int()
	if runs != 3 {
		t.Errorf("poison job ran %d times, want 3", runs)
	}
	recs, _ := e.rdb.LRange(ctx, "resque:failed", 0, -1).Result()
	if len(recs) != 1 || !strings.Contains(recs[0], `"exception":"Fleet::PoisonJob"`) {
		t.Errorf("failed = %v, want one poison record", recs)
	}
	assertQueueDrained(t, e)
	if n, _ := e.rdb.Get(ctx, "resque:stat:failed").Int(); n != 1 {
		t.Errorf("stat:failed = %d, want 1", n)
	}
}

// assertQueueDrained checks that no job is left queued, in a processing
// list, or registered to a dead worker.
func assertQueueDrained(t *testing.T, e *testEnv) {
	t.Helper()
	ctx := context.Background()
	keys, _ := e.rdb.Keys(ctx, "resque:fleet:processing:*").Result()
	var nonEmpty []string
	for _, k := range keys {
		if n, _ := e.rdb.LLen(ctx, k).Result(); n > 0 {
			nonEmpty = append(nonEmpty, k)
		}
	}
	if n, _ := e.rdb.LLen(ctx, "resque:queue:builds").Result(); n > 0 {
		nonEmpty = append(nonEmpty, "resque:queue:builds")
	}
	if len(nonEmpty) > 0 {
		t.Errorf("lists still hold jobs: %v", nonEmpty)
	}
	if ws, _ := e.rdb.SMembers(ctx, "resque:workers").Result(); len(ws) > 0 {
		t.Errorf("workers still registered: %v", ws)
	}
}
