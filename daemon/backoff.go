// Per-action exponential backoff: an action that failed is left out of the plans applied until
// its retry time, doubling per consecutive failure, so one broken box download does not make
// every pass hammer the same failure while the rest of the host converges.
package daemon

import (
	"time"

	"github.com/fleet-agent/fleet/reconcile"
)

// Backoff defaults.
const (
	DefaultBackoffBase = 5 * time.Second
	DefaultBackoffMax  = 5 * time.Minute
)

// failure is the backoff record of one action ID.
type failure struct {
	count   int
	err     string
	retryAt time.Time
}

// backoff tracks failed actions by ID. It is not safe for concurrent use; the daemon guards it
// with its mutex.
type backoff struct {
	base, max time.Duration
	failed    map[string]*failure
}

func newBackoff(base, limit time.Duration) *backoff {
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if limit < base {
		limit = max(DefaultBackoffMax, base)
	}
	return &backoff{base: base, max: limit, failed: map[string]*failure{}}
}

// fail records a failure of id at now and returns when it may be retried.
func (b *backoff) fail(id string, err error, now time.Time) time.Time {
	f := b.failed[id]
	if f == nil {
		f = &failure{}
		b.failed[id] = f
	}
	f.count++
	d := b.base
	for i := 1; i < f.count && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	f.err = err.Error()
	f.retryAt = now.Add(d)
	return f.retryAt
}

// succeed forgets id's failures.
func (b *backoff) succeed(id string) { delete(b.failed, id) }

// blocked reports whether id must not run at now.
func (b *backoff) blocked(id string, now time.Time) bool {
	f := b.failed[id]
	return f != nil && now.Before(f.retryAt)
}

// next returns the earliest retry time after now among blocked actions, or the zero time.
func (b *backoff) next(now time.Time) time.Time {
	var t time.Time
	for _, f := range b.failed {
		if f.retryAt.After(now) && (t.IsZero() || f.retryAt.Before(t)) {
			t = f.retryAt
		}
	}
	return t
}

// forget drops records of actions the current plan no longer holds: the state they failed on
// is gone, so a future action with the same ID starts afresh.
func (b *backoff) forget(plan reconcile.Plan) {
	for id := range b.failed {
		if plan.Action(id) == nil {
			delete(b.failed, id)
		}
	}
}

// filter returns plan without the actions that are blocked at now and without every action
// that depends, directly or not, on a removed one; drop holds IDs removed for other reasons
// (a VM not yet handed over by its worker). It returns the removed IDs too.
func filterPlan(plan reconcile.Plan, drop func(a reconcile.Action) bool) (kept reconcile.Plan, removed []string) {
	gone := map[string]bool{}
	for _, a := range plan.Actions {
		if a.Waiting == "" && drop(a) {
			gone[a.ID] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, a := range plan.Actions {
			if gone[a.ID] || a.Waiting != "" {
				continue
			}
			for _, dep := range a.DependsOn {
				if gone[dep] {
					gone[a.ID], changed = true, true
					break
				}
			}
		}
	}
	kept = plan
	kept.Actions = nil
	for _, a := range plan.Actions {
		if gone[a.ID] {
			removed = append(removed, a.ID)
			continue
		}
		kept.Actions = append(kept.Actions, a)
	}
	return kept, removed
}
