package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// waitSlots starts Fetch on every slot and waits until all of them wait at
// the host fetcher. Each fetched job (or error) arrives on the channel.
func waitSlots(t testing.TB, c *Client, ctx context.Context, slots []*Slot) <-chan fetched {
	t.Helper()
	out := make(chan fetched, len(slots))
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	for _, s := range slots {
		wg.Go(func() {
			j, err := s.Fetch(ctx)
			out <- fetched{s, j, err}
		})
	}
	waitFor(t, func() bool { return c.fetcher.waitingSlots() == len(slots) })
	return out
}

// servePaused pauses the host, lets slots wait at the fetcher while fill
// queues jobs, and resumes, so that one pass serves every slot at once.
func servePaused(t *testing.T, c *Client, ctx context.Context, slots []*Slot, fill func()) <-chan fetched {
	t.Helper()
	if err := c.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	got := waitSlots(t, c, ctx, slots)
	fill()
	if err := c.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	return got
}

type fetched struct {
	s   *Slot
	j   *Job
	err error
}

func TestHostFetcherKeepsPriorityAcrossQueuesForAllWaitingSlots(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	ctx := fetchCtx(t)
	var slots []*Slot
	for i := range 4 {
		slots = append(slots, e.slot(t, c, strconv.Itoa(i), "high", "mid", "low"))
	}
	got := servePaused(t, c, ctx, slots, func() {
		for _, q := range []string{"low", "mid", "high"} {
			for i := range 3 {
				e.submit(t, c, q, fmt.Sprintf("%s-%d", q, i))
			}
		}
	})
	var first []string
	for range slots {
		f := <-got
		if f.err != nil {
			t.Fatalf("fetch: %v", f.err)
		}
		first = append(first, f.j.Queue+"/"+f.j.ID)
		if err := f.s.Finish(ctx, f.j, Result{State: StatePassed}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(first)
	if d := cmp.Diff([]string{"high/high-0", "high/high-1", "high/high-2", "mid/mid-0"}, first); d != "" {
		t.Errorf("jobs handed to the 4 waiting slots (-want +got):\n%s", d)
	}
	var rest []string
	for range 5 {
		j, err := slots[0].Fetch(ctx)
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		rest = append(rest, j.Queue+"/"+j.ID)
		if err := slots[0].Finish(ctx, j, Result{State: StatePassed}); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff([]string{"mid/mid-1", "mid/mid-2", "low/low-0", "low/low-1", "low/low-2"}, rest); d != "" {
		t.Errorf("fetch order after (-want +got):\n%s", d)
	}
}

func TestHostFetcherServesEachPoolFromItsOwnQueuesInOnePass(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	ctx := fetchCtx(t)
	ruby := e.slot(t, c, "ruby-0", "ruby", "shared")
	goSlot := e.slot(t, c, "go-0", "go", "shared")
	got := servePaused(t, c, ctx, []*Slot{ruby, goSlot}, func() {
		e.submit(t, c, "shared", "shared-0")
		e.submit(t, c, "go", "go-0")
	})
	jobs := map[string]string{}
	for range 2 {
		f := <-got
		if f.err != nil {
			t.Fatalf("fetch: %v", f.err)
		}
		jobs[f.s.ID()] = f.j.ID
	}
	want := map[string]string{ruby.ID(): "shared-0", goSlot.ID(): "go-0"}
	if d := cmp.Diff(want, jobs); d != "" {
		t.Errorf("job per slot (-want +got):\n%s", d)
	}
}

func TestHostFetcherServesALaterPoolWhileAnEarlierOneIdlesWithManySlots(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	ctx, cancel := context.WithCancel(fetchCtx(t))
	defer cancel()
	// The idle pool's slots wait first, so its group comes first in every
	// pass; its queues stay empty.
	var idle []*Slot
	for i := range 3 {
		idle = append(idle, e.slot(t, c, "idle-"+strconv.Itoa(i), "idle-high", "idle-low"))
	}
	idleGot := waitSlots(t, c, ctx, idle)
	busy := e.slot(t, c, "busy-0", "busy")
	got := make(chan fetched, 1)
	go func() {
		j, err := busy.Fetch(ctx)
		got <- fetched{busy, j, err}
	}()
	waitFor(t, func() bool { return c.fetcher.waitingSlots() == 4 })
	e.submit(t, c, "busy", "busy-job")
	// Fetch ends at fetchCtx's deadline if the job is never handed out.
	if f := <-got; f.err != nil || f.j.ID != "busy-job" {
		t.Fatalf("later pool's fetch while the earlier pool idled: %v, %v; want busy-job", f.j, f.err)
	}
	cancel()
	for range idle {
		<-idleGot
	}
}

func TestHostFetcherPicksUpPlainResquePushWithoutNotification(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	ctx := fetchCtx(t)
	s := e.slot(t, c, "0", "high", "builds")
	// Anything published on the notify channel would show up here.
	sub := e.rdb.PSubscribe(ctx, c.keys.notify("*"))
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	got := waitSlots(t, c, ctx, []*Slot{s})
	e.rawPush(t, "builds", validPayload) // RPUSH only, as Ruby Resque enqueues
	f := <-got
	if f.err != nil {
		t.Fatalf("fetch: %v", f.err)
	}
	if f.j.Queue != "builds" || string(f.j.Raw) != validPayload {
		t.Errorf("fetched %s from %s, want the pushed payload from builds", f.j.Raw, f.j.Queue)
	}
	if m, err := sub.ReceiveTimeout(ctx, 10*time.Millisecond); err == nil {
		t.Errorf("a notification was published: %v; the job must come from the poll", m)
	}
}

// hostClient is a queue Client on its own connection pool, named so that
// CLIENT LIST tells its connections apart.
func hostClient(t testing.TB, e *testEnv, host string) *Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: e.srv.Addr, Username: e.srv.Username, Password: e.srv.Password, ClientName: host})
	t.Cleanup(func() { _ = rdb.Close() })
	c, err := New(rdb, Config{Host: host}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.fetcher.stop() })
	return c
}

// connections counts the server's connections whose name starts with name.
func connections(t testing.TB, rdb *redis.Client, name string) int {
	t.Helper()
	list, err := rdb.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(list, " name="+name)
}

// commandCount is the total of INFO commandstats calls, without INFO itself.
func commandCount(t testing.TB, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok || name == "cmdstat_info" {
			continue
		}
		n, _, _ := strings.Cut(rest, ",")
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			t.Fatalf("commandstats line %q: %v", line, err)
		}
		total += v
	}
	return total
}

func TestHostFetcherHoldsFewConnectionsAndCommandsFor32IdleSlots(t *testing.T) {
	e := newEnv(t)
	c := hostClient(t, e, "host-32")
	ctx, cancel := context.WithCancel(fetchCtx(t))
	defer cancel()
	var slots []*Slot
	for i := range 32 {
		slots = append(slots, e.slot(t, c, strconv.Itoa(i), "high", "mid", "low"))
	}
	got := waitSlots(t, c, ctx, slots)
	if n := connections(t, e.rdb, "host-32"); n > 4 {
		t.Errorf("%d connections for 32 waiting slots, want at most 4", n)
	}
	// An upper bound only: a slow machine makes fewer calls, never more.
	const window = 2 * time.Second
	before := commandCount(t, e.rdb)
	time.Sleep(window)
	perSecond := float64(commandCount(t, e.rdb)-before) / window.Seconds()
	t.Logf("32 waiting slots: %d connections, %.1f commands/s", connections(t, e.rdb, "host-32"), perSecond)
	if perSecond > 20 {
		t.Errorf("%.1f commands/s while 32 slots wait, want at most 20", perSecond)
	}
	// Still served: one job each for a few of them.
	for i := range 3 {
		e.submit(t, c, "low", fmt.Sprintf("j-%d", i))
	}
	for range 3 {
		if f := <-got; f.err != nil {
			t.Fatalf("fetch: %v", f.err)
		}
	}
	cancel()
	for range 29 {
		if f := <-got; !errors.Is(f.err, context.Canceled) {
			t.Errorf("fetch after cancel: %v, %v", f.j, f.err)
		}
	}
}

func TestFetchCanceledWhileWaitingLeavesQueueUntouched(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	s := e.slot(t, c, "0", "builds")
	ctx, cancel := context.WithCancel(fetchCtx(t))
	got := waitSlots(t, c, ctx, []*Slot{s})
	cancel()
	if f := <-got; !errors.Is(f.err, context.Canceled) {
		t.Fatalf("fetch: %v, want context.Canceled", f.err)
	}
	e.submit(t, c, "builds", "after")
	j, err := s.Fetch(fetchCtx(t))
	if err != nil || j.ID != "after" {
		t.Fatalf("next fetch: %v, %v", j, err)
	}
}

func TestCancelWatchesOf32RunningJobsShareOneSubscription(t *testing.T) {
	e := newEnv(t)
	c := hostClient(t, e, "busy-host")
	ctx := fetchCtx(t)
	var ctxs []context.Context
	for i := range 32 {
		wctx, stop := c.WatchCancel(ctx, fmt.Sprintf("job-%d", i))
		t.Cleanup(stop)
		ctxs = append(ctxs, wctx)
	}
	waitFor(t, func() bool {
		list, _ := e.rdb.ClientList(ctx).Result()
		return strings.Contains(list, "name=busy-host") && strings.Count(list, " sub=1 ") >= 1
	})
	list, err := e.rdb.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	subs := 0
	for line := range strings.Lines(list) {
		if strings.Contains(line, " name=busy-host ") && !strings.Contains(line, " sub=0 ") {
			subs++
		}
	}
	if subs != 1 {
		t.Errorf("%d subscribed connections for 32 watched jobs, want 1", subs)
	}
	if err := c.Cancel(ctx, "job-7"); err != nil {
		t.Fatal(err)
	}
	<-ctxs[7].Done()
	if cause := context.Cause(ctxs[7]); !errors.Is(cause, ErrCanceled) {
		t.Errorf("job-7 watch ended with %v, want ErrCanceled", cause)
	}
	for i, wctx := range ctxs {
		if i != 7 && wctx.Err() != nil {
			t.Errorf("job-%d's watch ended too: %v", i, context.Cause(wctx))
		}
	}
}

func TestHostFetcherServesMoreWaitingSlotsThanOnePassHolds(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, Config{})
	ctx := fetchCtx(t)
	n := maxWaitersPerPass + 6
	var slots []*Slot
	for i := range n {
		slots = append(slots, e.slot(t, c, strconv.Itoa(i), "builds"))
	}
	got := servePaused(t, c, ctx, slots, func() {
		for i := range n {
			e.submit(t, c, "builds", fmt.Sprintf("j-%d", i))
		}
	})
	seen := map[string]bool{}
	for range n {
		f := <-got
		if f.err != nil {
			t.Fatalf("fetch: %v", f.err)
		}
		if seen[f.j.ID] {
			t.Errorf("job %s handed out twice", f.j.ID)
		}
		seen[f.j.ID] = true
	}
}
