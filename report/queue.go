// This file is a reporter's bounded queue: events in arrival order, taken
// one run at a time so each run's events go out in order, with the drop
// policy that keeps the bound (Config.QueueEvents and QueueBytes are never
// exceeded: see victim for the order events go in) and carries each drop
// into the run's next event.

package report

import "time"

// item is one event waiting for delivery.
type item struct {
	kind  string
	jobID string
	runID string
	seq   int64
	at    time.Time
	// dropped counts events of this run dropped just before this one.
	dropped int
	// size is what the item counts against Config.QueueBytes: its log data.
	size int
	// body builds the typed body from the final header (set at take time,
	// when dropped is known).
	body func(h header) any
	// encoded is the body bytes, fixed at the first delivery attempt so that
	// every retry is byte-identical (same signature, same delivery id).
	encoded []byte
	tries   int
}

func (it *item) encode() []byte {
	if it.encoded == nil {
		it.encoded = marshal(it.body(header{
			Type: it.kind, JobID: it.jobID, RunID: it.runID, Seq: it.seq,
			Time: it.at.UTC(), Dropped: it.dropped,
		}))
	}
	return it.encoded
}

// eventQueue is not safe for concurrent use: the Reporter guards it.
type eventQueue struct {
	maxEvents, maxBytes int
	items               []*item
	bytes               int
	// busy holds run ids with an event being delivered.
	busy map[string]bool
	// carry holds drop counts of runs with no queued event to carry them yet.
	carry map[string]int
}

func newEventQueue(maxEvents, maxBytes int) eventQueue {
	return eventQueue{maxEvents: maxEvents, maxBytes: maxBytes, busy: map[string]bool{}, carry: map[string]int{}}
}

func (q *eventQueue) len() int { return len(q.items) }

// push appends it and then drops events while the queue is over its bound
// (enforce). It returns the kinds of the events it dropped, oldest first.
func (q *eventQueue) push(it *item) []string {
	if n, ok := q.carry[it.runID]; ok {
		it.dropped += n
		delete(q.carry, it.runID)
	}
	q.items = append(q.items, it)
	q.bytes += it.size
	return q.enforce()
}

// enforce drops events, one victim at a time, until the queue is within
// both bounds, and returns the kinds dropped.
func (q *eventQueue) enforce() []string {
	var dropped []string
	for len(q.items) > 0 && (len(q.items) > q.maxEvents || q.bytes > q.maxBytes) {
		i := q.victim()
		dropped = append(dropped, q.items[i].kind)
		q.drop(i)
	}
	return dropped
}

// victim picks the event to drop when the queue is over its bound, in this
// order (README "Reporting jobs over HTTP"):
//  1. the oldest log batch: output matters less than how a job went;
//  2. coalesced: the oldest received, started or canceled event of a run
//     whose finished or requeued event is queued behind it: that event says
//     how the run went, and its "dropped" count says what went before;
//  3. the oldest received, started or canceled event;
//  4. the oldest event left, a finished or requeued one: only when the queue
//     holds nothing else, so a flood keeps the newest results.
func (q *eventQueue) victim() int {
	if i := q.oldest(func(k string) bool { return k == TypeLog }); i >= 0 {
		return i
	}
	ended := map[string]bool{}
	for _, it := range q.items {
		if terminal(it.kind) {
			ended[it.runID] = true
		}
	}
	first := -1
	for i, it := range q.items {
		if terminal(it.kind) {
			continue
		}
		if ended[it.runID] {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	if first >= 0 {
		return first
	}
	return 0
}

// terminal reports whether an event of kind ends its run.
func terminal(kind string) bool { return kind == TypeFinished || kind == TypeRequeued }

// oldest returns the index of the first item whose kind matches, or -1.
func (q *eventQueue) oldest(match func(kind string) bool) int {
	for i, it := range q.items {
		if match(it.kind) {
			return i
		}
	}
	return -1
}

// drop removes item i and hands its drop count, plus itself, to the next
// queued event of its run, or to carry when there is none yet. A dropped
// finished or requeued event ended its run: no event will carry its count,
// which only the reporter's counters keep.
func (q *eventQueue) drop(i int) {
	victim := q.items[i]
	q.remove(i)
	n := victim.dropped + 1
	for _, it := range q.items[i:] {
		if it.runID == victim.runID {
			it.dropped += n
			return
		}
	}
	if terminal(victim.kind) {
		delete(q.carry, victim.runID)
		return
	}
	q.carry[victim.runID] += n
}

func (q *eventQueue) remove(i int) {
	q.bytes -= q.items[i].size
	copy(q.items[i:], q.items[i+1:])
	q.items[len(q.items)-1] = nil
	q.items = q.items[:len(q.items)-1]
}

// take removes and returns the oldest event whose run has nothing in
// flight, marking its run busy, or nil.
func (q *eventQueue) take() *item {
	for i, it := range q.items {
		if q.busy[it.runID] {
			continue
		}
		q.remove(i)
		q.busy[it.runID] = true
		return it
	}
	return nil
}

// done marks the run of it free after its delivery ended one way or another.
func (q *eventQueue) done(it *item) {
	delete(q.busy, it.runID)
}

// putBack returns an undelivered event to the head of the queue. It was
// the oldest of its run, so the run's order is kept. Events pushed while it
// was in flight may have filled the queue: the bound is enforced again, and
// the kinds dropped returned.
func (q *eventQueue) putBack(it *item) []string {
	delete(q.busy, it.runID)
	q.items = append(q.items, nil)
	copy(q.items[1:], q.items)
	q.items[0] = it
	q.bytes += it.size
	return q.enforce()
}
