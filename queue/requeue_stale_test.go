package queue

import (
	"context"
	"errors"
	"testing"
)

// TestRequeueOfAStaleAttemptIsDiscarded: an attempt that gives its job back after a reaper took
// it over gets ErrStale, lets go of the job, and does not put a second copy in the queue.
func TestRequeueOfAStaleAttemptIsDiscarded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, s, j := e.deadHostWithJob(t, "given-back")
	live := e.client(t, Config{Host: "live-01"})
	if rep, err := live.Recover(ctx); err != nil || rep.Requeued != 1 {
		t.Fatalf("recover = %+v, %v; want one requeued", rep, err)
	}
	if err := s.Requeue(ctx, j); !errors.Is(err, ErrStale) {
		t.Errorf("stale requeue: err = %v, want ErrStale", err)
	}
	if s.Current() != nil {
		t.Error("stale slot still holds the job")
	}
	if n, _ := e.rdb.LLen(ctx, "resque:queue:builds").Result(); n != 1 {
		t.Errorf("queue holds %d payloads, want the reaper's 1", n)
	}
}
