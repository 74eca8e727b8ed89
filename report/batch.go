// This file batches log output per job run: chunks are appended to the
// run's pending buffer (the hot path of a chatty build) and cut into log
// events of at most BatchBytes, either when the buffer fills, when
// BatchInterval has passed since its first byte, or before any lifecycle
// event of the run. Cuts never split a UTF-8 sequence of text output.

package report

import (
	"context"
	"time"
	"unicode/utf8"
)

// Log reports a chunk of jobID's output. It copies chunk and returns
// without waiting.
func (r *Reporter) Log(jobID string, chunk []byte) {
	if len(chunk) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ignore() {
		return
	}
	ru := r.runFor(jobID)
	ru.pending = append(ru.pending, chunk...)
	cut := false
	for len(ru.pending) >= r.cfg.BatchBytes {
		r.seal(jobID, ru, utf8Cut(ru.pending, r.cfg.BatchBytes, false))
		cut = true
	}
	if len(ru.pending) > 0 && (cut || ru.due.IsZero()) {
		ru.due = r.now().Add(r.cfg.BatchInterval)
		signal(r.kick)
	}
}

// seal turns the first n pending bytes of ru into a queued log event.
// Callers hold r.mu.
func (r *Reporter) seal(jobID string, ru *run, n int) {
	if n == 0 {
		return
	}
	data := make([]byte, n)
	copy(data, ru.pending)
	ru.pending = append(ru.pending[:0], ru.pending[n:]...)
	if len(ru.pending) == 0 {
		ru.due = time.Time{}
	}
	b := logBody{Offset: ru.offset}
	ru.offset += int64(n)
	ru.seq++
	r.push(&item{kind: TypeLog, jobID: jobID, runID: ru.id, seq: ru.seq, at: r.now(), size: n,
		body: func(h header) any {
			b.header = h
			encodeLog(&b, data)
			return b
		}})
}

// sealAll cuts everything pending, ahead of a lifecycle event or Close.
// Callers hold r.mu.
func (r *Reporter) sealAll(jobID string, ru *run) {
	for len(ru.pending) > 0 {
		r.seal(jobID, ru, utf8Cut(ru.pending, r.cfg.BatchBytes, true))
	}
}

// sealDue cuts the pending output of every run whose deadline has passed
// and returns the earliest deadline still ahead, or zero.
func (r *Reporter) sealDue(now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var next time.Time
	for jobID, ru := range r.runs {
		if !ru.due.IsZero() && !ru.due.After(now) {
			r.seal(jobID, ru, utf8Cut(ru.pending, r.cfg.BatchBytes, false))
			if len(ru.pending) > 0 {
				// Only a partial UTF-8 sequence is left: wait for the rest.
				ru.due = now.Add(r.cfg.BatchInterval)
			}
		}
		if !ru.due.IsZero() && (next.IsZero() || ru.due.Before(next)) {
			next = ru.due
		}
	}
	return next
}

// batchLoop seals log batches as their deadlines pass, until ctx ends.
func (r *Reporter) batchLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var fire <-chan time.Time
		if next := r.sealDue(r.now()); !next.IsZero() {
			timer.Reset(next.Sub(r.now()))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-fire:
		}
	}
}

// utf8Cut returns how many leading bytes of buf (at most max) to put in a
// batch. Unless final, it stops before a UTF-8 sequence that is cut short,
// so text stays text; it never returns 0 for a full buffer.
func utf8Cut(buf []byte, max int, final bool) int {
	n := len(buf)
	if n > max {
		n, final = max, false
	}
	if final {
		return n
	}
	for k := 1; k < utf8.UTFMax && k <= n; k++ {
		i := n - k
		if !utf8.RuneStart(buf[i]) {
			continue
		}
		if utf8.FullRune(buf[i:n]) {
			return n
		}
		if i == 0 && len(buf) >= max {
			return n // a batch-sized buffer is never held back
		}
		return i
	}
	return n
}
