// This file is the host-level fetcher: one goroutine per Client serves the
// idle slots of every pool on the host. Slots that wait for a job register
// with it; it moves payloads from the queues into the waiting slots'
// processing lists with one atomic script (queues in priority order, the
// same LMOVE as a single slot's fetch), so recovery, fencing and attempts
// see exactly what they saw before. It wakes on a notification that Submit
// publishes, on a new waiter, and every FetchPoll for jobs that plain
// Resque clients RPUSH without notifying. Idle cost per host: one script
// every FetchPoll and one pub/sub connection, whatever the number of slots.

package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// hostFetch hands each waiting slot a payload: first one already in the
// slot's processing lists that the slot does not hold (its fetch was cut
// off: the server moved it but the reply never arrived, also when go-redis
// retried the call) and whose result does not wait in the outbox, else the
// head of the group's first non-empty queue, LMOVEd into the slot's
// processing list for that queue.
//
// KEYS: pause-all-workers, host pause, then for each group its queues in
// order followed by one processing list per queue for each waiting slot
// (slot-major). ARGV: number of groups, then for each group its number of
// queues and of waiting slots followed, for each of those slots, by the
// number of its payloads kept in the outbox and those payloads. Returns {-1}
// when paused, else a flat list of (group, slot, queue, payload, taken-up),
// 1-based, for every slot that got a payload. An idle pass costs three
// commands (EVALSHA, MGET, EXISTS) whatever the number of pools, queues and
// slots; a pass that finds a job adds one EXISTS over the processing lists
// (LRANGE only when one is not empty) and an LMOVE per queue tried.
var hostFetch = redis.NewScript(`
local p = redis.call('MGET', KEYS[1], KEYS[2])
if p[1] and string.lower(string.gsub(p[1], '^%s*(.-)%s*$', '%1')) == 'true' then return {-1} end
if p[2] then return {-1} end
if redis.call('EXISTS', unpack(KEYS, 3)) == 0 then return {} end
-- argAt: where each group's arguments start, so that a group left early
-- (its queues are empty) does not shift where the next one's are read.
local procs, argAt = {}, {}
local k, a = 3, 2
for g = 1, tonumber(ARGV[1]) do
  argAt[g] = a
  local nq, nw = tonumber(ARGV[a]), tonumber(ARGV[a+1])
  a = a + 2
  for i = k+nq, k+nq+nw*nq-1 do procs[#procs+1] = KEYS[i] end
  for w = 1, nw do a = a + 1 + tonumber(ARGV[a]) end
  k = k + nq + nw*nq
end
local orphans = redis.call('EXISTS', unpack(procs)) > 0
local out = {}
k = 3
for g = 1, tonumber(ARGV[1]) do
  a = argAt[g]
  local nq, nw = tonumber(ARGV[a]), tonumber(ARGV[a+1])
  a = a + 2
  local qi = 1
  for w = 1, nw do
    local nk = tonumber(ARGV[a])
    local kept = {}
    for i = 1, nk do kept[ARGV[a+i]] = true end
    a = a + 1 + nk
    local base = k + nq + (w-1)*nq
    local v, vq, again = false, 0, 0
    for i = 0, (orphans and nq or 0)-1 do
      for _, x in ipairs(redis.call('LRANGE', KEYS[base+i], 0, -1)) do
        if not kept[x] then v, vq, again = x, i+1, 1 break end
      end
      if v then break end
    end
    while not v and qi <= nq do
      v = redis.call('LMOVE', KEYS[k+qi-1], KEYS[base+qi-1], 'LEFT', 'RIGHT')
      if v then vq = qi else qi = qi + 1 end
    end
    if not v and not orphans then break end
    if v then
      out[#out+1] = g
      out[#out+1] = w
      out[#out+1] = vq
      out[#out+1] = v
      out[#out+1] = again
    end
  end
  k = k + nq + nw*nq
end
return out
`)

// maxWaitersPerPass bounds the keys of one script call.
const maxWaitersPerPass = 64

// errLeft is what wait returns when the waiter left (ctx ended or the slot
// drained) before the fetcher gave it anything.
var errLeft = errors.New("queue: left the host fetcher")

// delivery is what the fetcher hands a waiting slot: a payload and the
// index of its queue, or the error of the script call the slot was part of.
type delivery struct {
	raw []byte
	qi  int
	err error
	// again: the payload was already in the slot's processing list.
	again bool
}

// waiter is one slot waiting in Fetch.
type waiter struct {
	s  *Slot
	ch chan delivery // buffered 1; the fetcher sends at most once
	// claimed and gone are guarded by fetcher.mu. claimed: part of the
	// script call in flight. gone: left while claimed, so the fetcher must
	// send (or send nothing-to-do) and drop it.
	claimed, gone bool
}

// group is the waiting slots that share one queue list (a pool).
type group struct {
	queues  []string
	waiting []*waiter
}

// fetcher is the Client's host-level fetcher.
type fetcher struct {
	c    *Client
	kick chan struct{} // buffered 1: a waiter arrived

	mu      sync.Mutex
	groups  map[string]*group // guarded by mu; by joined queue list
	order   []string          // guarded by mu; group keys in first-seen order
	running bool              // guarded by mu; the loop goroutine is alive
	ctx     context.Context   // guarded by mu; lives until Client.Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newFetcher(c *Client) *fetcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &fetcher{c: c, kick: make(chan struct{}, 1), groups: map[string]*group{}, ctx: ctx, cancel: cancel}
}

// stop ends the loop and waits for it.
func (f *fetcher) stop() {
	// Under mu, so that wait cannot start the loop after the cancel.
	f.mu.Lock()
	f.cancel()
	f.mu.Unlock()
	f.wg.Wait()
}

// wait blocks until the fetcher moved a payload into one of s's processing
// lists, its script call failed (the error), or leave is closed or ctx ends
// (errLeft). A delivery that arrives while leaving is still returned: the
// payload is in the slot's processing list and the caller must deal with it.
func (f *fetcher) wait(ctx context.Context, s *Slot, leave <-chan struct{}) delivery {
	w := &waiter{s: s, ch: make(chan delivery, 1)}
	key := strings.Join(s.queues, ",")
	f.mu.Lock()
	if f.ctx.Err() != nil {
		f.mu.Unlock()
		return delivery{err: fmt.Errorf("fetch %s: %w", s.id, redis.ErrClosed)}
	}
	g := f.groups[key]
	if g == nil {
		g = &group{queues: s.queues}
		f.groups[key] = g
		f.order = append(f.order, key)
	}
	g.waiting = append(g.waiting, w)
	if !f.running {
		f.running = true
		f.wg.Go(func() { f.run(f.ctx) })
	}
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
	select {
	case d := <-w.ch:
		return d
	case <-ctx.Done():
	case <-leave:
	}
	f.mu.Lock()
	if !w.claimed {
		g.remove(w)
		f.mu.Unlock()
		return delivery{err: errLeft}
	}
	w.gone = true
	f.mu.Unlock()
	if d := <-w.ch; d.raw != nil {
		return d
	}
	return delivery{err: errLeft}
}

func (g *group) remove(w *waiter) {
	for i, x := range g.waiting {
		if x == w {
			g.waiting = append(g.waiting[:i], g.waiting[i+1:]...)
			return
		}
	}
}

// run is the fetcher's loop. It returns when ctx ends or no slot waits.
func (f *fetcher) run(ctx context.Context) {
	var sub *redis.PubSub
	var msgs <-chan *redis.Message
	subscribed := map[string]bool{}
	defer func() {
		if sub != nil {
			_ = sub.Close()
		}
	}()
	poll := time.NewTimer(f.c.cfg.FetchPoll)
	defer poll.Stop()
	for {
		if chans := f.unsubscribed(subscribed); len(chans) > 0 {
			if sub == nil {
				sub = f.c.rdb.Subscribe(ctx, chans...)
				msgs = sub.Channel()
			} else if err := sub.Subscribe(ctx, chans...); err != nil && ctx.Err() == nil {
				// The poll still finds the jobs; try again next pass.
				for _, ch := range chans {
					delete(subscribed, ch)
				}
			}
		}
		waiting, more := f.pass(ctx)
		if more {
			// Every slot of a full pass got a job: serve the rest now.
			continue
		}
		if !waiting {
			// No slot waits: end, so that an idle Client holds no
			// goroutine or subscription; the next waiter starts it again.
			f.mu.Lock()
			if f.waiters() == 0 {
				f.running = false
				f.mu.Unlock()
				return
			}
			f.mu.Unlock()
		}
		// Go 1.23+ timers drop a stale tick on Reset.
		poll.Reset(f.c.cfg.FetchPoll)
		select {
		case <-ctx.Done():
			f.abandon()
			return
		case <-f.kick:
		case <-msgs:
		case <-poll.C:
		}
		// Coalesce a burst of wake-ups into one pass.
		drain(f.kick)
		for len(msgs) > 0 {
			<-msgs
		}
	}
}

func drain(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// unsubscribed returns the notification channels of the groups' queues not
// yet in subscribed, and adds them there.
func (f *fetcher) unsubscribed(subscribed map[string]bool) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, key := range f.order {
		for _, q := range f.groups[key].queues {
			ch := f.c.keys.notify(q)
			if !subscribed[ch] {
				subscribed[ch] = true
				out = append(out, ch)
			}
		}
	}
	return out
}

// waitingSlots counts the slots waiting for a job.
func (f *fetcher) waitingSlots() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.waiters()
}

// waiters counts the slots waiting; f.mu must be held.
func (f *fetcher) waiters() int {
	n := 0
	for _, g := range f.groups {
		n += len(g.waiting)
	}
	return n
}

// abandon wakes every waiter with a closed-client error once the loop ends
// for good.
func (f *fetcher) abandon() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = false
	for _, g := range f.groups {
		for _, w := range g.waiting {
			w.ch <- delivery{err: fmt.Errorf("fetch %s: %w", w.s.id, redis.ErrClosed)}
		}
		g.waiting = nil
	}
}

// pass runs one script call over every group with waiting slots (at most
// maxWaitersPerPass of them) and hands out what it moved. It reports whether
// slots are still waiting, and more when the pass was full and every slot
// in it got a job (the queues may hold more for those left out).
func (f *fetcher) pass(ctx context.Context) (waiting, more bool) {
	k := f.c.keys
	f.mu.Lock()
	var (
		claimed [][]*waiter
		keys    = []string{k.pauseAll(), k.pauseHost(f.c.cfg.Host)}
		args    = []any{0}
		budget  = maxWaitersPerPass
	)
	for _, key := range f.order {
		g := f.groups[key]
		var ws []*waiter
		for _, w := range g.waiting {
			if budget == 0 {
				break
			}
			if !w.claimed {
				w.claimed = true
				ws = append(ws, w)
				budget--
			}
		}
		if len(ws) == 0 {
			continue
		}
		for _, q := range g.queues {
			keys = append(keys, k.queue(q))
		}
		for _, w := range ws {
			for _, q := range g.queues {
				keys = append(keys, k.processing(w.s.id, q))
			}
		}
		args = append(args, len(g.queues), len(ws))
		for _, w := range ws {
			kept := f.c.outbox.kept(w.s.id)
			args = append(args, len(kept))
			args = append(args, kept...)
		}
		claimed = append(claimed, ws)
	}
	f.mu.Unlock()
	if len(claimed) == 0 {
		return false, false
	}
	args[0] = len(claimed)
	got := make(map[*waiter]delivery)
	res, err := hostFetch.Run(ctx, f.c.rdb, keys, args...).Slice()
	if err != nil {
		err = fmt.Errorf("host fetch: %w", err)
	}
	for i := 0; err == nil && i+4 < len(res); i += 5 {
		g, _ := res[i].(int64)
		w, _ := res[i+1].(int64)
		qi, _ := res[i+2].(int64)
		raw, _ := res[i+3].(string)
		again, _ := res[i+4].(int64)
		if g < 1 || int(g) > len(claimed) || w < 1 || int(w) > len(claimed[g-1]) {
			err = fmt.Errorf("host fetch: reply %v out of range", res[i:i+5])
			break
		}
		got[claimed[g-1][w-1]] = delivery{raw: []byte(raw), qi: int(qi) - 1, again: again == 1}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ws := range claimed {
		for _, w := range ws {
			w.claimed = false
			d, ok := got[w]
			switch {
			case err != nil:
				// The reply may be lost with payloads already moved: each
				// slot looks at its processing lists (suspect) on retry.
				d, ok = delivery{err: err}, true
			case !ok && w.gone:
				d, ok = delivery{}, true
			}
			if ok {
				f.groups[strings.Join(w.s.queues, ",")].remove(w)
				w.ch <- d
			}
		}
	}
	return f.waiters() > 0, err == nil && budget == 0 && len(got) == maxWaitersPerPass
}
