// Apply: the executor of a Plan. It runs the very actions Diff produced, each once its
// dependencies succeeded, up to MaxParallel at a time, retrying transient failures with
// backoff. A failed action fails only its dependents; independent work completes, and every
// failure is returned together. The scheduler loop runs in the caller's goroutine; each
// running action has one goroutine, owned by Apply and waited for before it returns.

package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/go-multierror"
)

// EventType says what happened to an action.
type EventType string

// Event types, in the order an action can see them.
const (
	EventStarted EventType = "started"
	EventRetry   EventType = "retry"   // a transient failure; Err says which, Attempt the next try
	EventDone    EventType = "done"    // succeeded
	EventFailed  EventType = "failed"  // failed for good
	EventSkipped EventType = "skipped" // a dependency failed
	EventWaiting EventType = "waiting" // the plan says it must wait (busy worker, ...)
)

// Event is one step of an apply, for progress output.
type Event struct {
	Action  Action
	Type    EventType
	Err     error
	Attempt int
	Took    time.Duration
}

// Applier executes plans against a Provider and a BoxStore. Its fields are read-only once
// Apply runs; an Applier may run one Apply at a time.
type Applier struct {
	Provider Provider
	Boxes    BoxStore
	// Log receives a line per finished action; nil discards.
	Log *slog.Logger
	// MaxParallel bounds the actions running at once. Default 2.
	MaxParallel int
	// Retries is how often an action failing with a Transient error is tried again. Default 3;
	// negative disables retries.
	Retries int
	// RetryBase is the first backoff; it doubles per retry, up to 30s. Default 2s.
	RetryBase time.Duration
	// OnEvent, when set, receives every event. Calls are made from the goroutine running
	// Apply, one at a time.
	OnEvent func(Event)
}

// outcome is what an action goroutine reports: its end, or (retry set) a retry notice.
type outcome struct {
	id    string
	err   error
	took  time.Duration
	retry *Event
}

// Apply runs plan, built by Diff from desired. It returns nil when every action that was not
// waiting succeeded, else a *multierror.Error with one "<action id>: <cause>" per failure
// (actions skipped because a dependency failed are reported through OnEvent only).
func (ap *Applier) Apply(ctx context.Context, desired Desired, plan Plan) error {
	maxPar := ap.MaxParallel
	if maxPar <= 0 {
		maxPar = 2
	}
	log := ap.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	emit := func(e Event) {
		if ap.OnEvent != nil {
			ap.OnEvent(e)
		}
	}
	const (
		pending = iota
		running
		succeeded
		failed
	)
	state := map[string]int{}
	for _, a := range plan.Actions {
		state[a.ID] = pending
	}
	var errs *multierror.Error
	results := make(chan outcome)
	inFlight := 0
	remaining := 0
	for _, a := range plan.Actions {
		if a.Waiting != "" {
			state[a.ID] = failed // nothing may run after a waiting action
			emit(Event{Action: a, Type: EventWaiting})
			continue
		}
		remaining++
	}
	for remaining > 0 || inFlight > 0 {
		// Launch what is ready, in plan order, while slots are free; sweep again after a skip,
		// since skipping may block an action listed earlier.
		for swept := false; !swept; {
			swept = true
			for i := 0; i < len(plan.Actions) && inFlight < maxPar && ctx.Err() == nil; i++ {
				a := plan.Actions[i]
				if state[a.ID] != pending {
					continue
				}
				ready, blocked := true, ""
				for _, dep := range a.DependsOn {
					st, known := state[dep]
					switch {
					case !known || st == succeeded:
					case st == failed:
						blocked = dep
					default:
						ready = false
					}
				}
				if blocked != "" {
					state[a.ID] = failed
					remaining--
					emit(Event{Action: a, Type: EventSkipped, Err: fmt.Errorf("dependency %s did not complete", blocked)})
					swept = false
					continue
				}
				if !ready {
					continue
				}
				state[a.ID] = running
				inFlight++
				remaining--
				emit(Event{Action: a, Type: EventStarted, Attempt: 1})
				go func() {
					start := time.Now()
					err := ap.runWithRetry(ctx, desired, a, func(e Event) { results <- outcome{retry: &e} })
					results <- outcome{id: a.ID, err: err, took: time.Since(start)}
				}()
			}
		}
		if inFlight == 0 {
			if ctx.Err() != nil {
				errs = multierror.Append(errs, fmt.Errorf("apply: %w", ctx.Err()))
				break
			}
			if remaining > 0 {
				// Only dependency cycles or unknown states get here; refuse rather than spin.
				errs = multierror.Append(errs, errors.New("apply: actions left that can never run (dependency cycle)"))
				break
			}
			continue
		}
		r := <-results
		if r.retry != nil {
			emit(*r.retry)
			continue
		}
		inFlight--
		a := plan.Action(r.id)
		if r.err != nil {
			state[r.id] = failed
			errs = multierror.Append(errs, fmt.Errorf("%s: %w", r.id, r.err))
			log.Warn("action failed", "action", r.id, "took", r.took, "err", r.err)
			emit(Event{Action: *a, Type: EventFailed, Err: r.err, Took: r.took})
			continue
		}
		state[r.id] = succeeded
		log.Info("action done", "action", r.id, "took", r.took)
		emit(Event{Action: *a, Type: EventDone, Took: r.took})
	}
	return errs.ErrorOrNil()
}

// runWithRetry runs one action, retrying transient failures with exponential backoff.
// notify is called before each retry; the scheduler is always receiving while the action runs.
func (ap *Applier) runWithRetry(ctx context.Context, desired Desired, a Action, notify func(Event)) error {
	retries := ap.Retries
	if retries == 0 {
		retries = 3
	}
	if retries < 0 {
		retries = 0
	}
	delay := ap.RetryBase
	if delay <= 0 {
		delay = 2 * time.Second
	}
	for attempt := 1; ; attempt++ {
		err := ap.run(ctx, desired, a)
		if err == nil || !IsTransient(err) || attempt > retries || ctx.Err() != nil {
			return err
		}
		notify(Event{Action: a, Type: EventRetry, Err: err, Attempt: attempt + 1})
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(delay*2, 30*time.Second)
	}
}

// run executes one action against the provider.
func (ap *Applier) run(ctx context.Context, d Desired, a Action) error {
	p := ap.Provider
	target := VMRef{Name: a.Target, ID: a.TargetID}
	pool := d.Pool(a.Pool)
	needPool := func() error {
		if pool == nil {
			return fmt.Errorf("pool %q is not declared", a.Pool)
		}
		return nil
	}
	switch a.Kind {
	case KindFetchBox:
		box := d.Box(a.Box)
		if box == nil {
			return fmt.Errorf("box %q is not declared", a.Box)
		}
		_, err := ap.Boxes.Fetch(ctx, *box)
		return err
	case KindImportBox:
		box := d.Box(a.Box)
		if box == nil {
			return fmt.Errorf("box %q is not declared", a.Box)
		}
		dir, err := ap.Boxes.Fetch(ctx, *box) // present already: no download
		if err != nil {
			return err
		}
		return p.ImportBox(ctx, ImportRequest{Name: a.Target, Box: *box, Dir: dir})
	case KindBuildGolden:
		if err := needPool(); err != nil {
			return err
		}
		box := d.Box(pool.Box)
		if box == nil {
			return fmt.Errorf("box %q is not declared", pool.Box)
		}
		return p.BuildGolden(ctx, GoldenRequest{Name: a.Target, Pool: *pool, Box: *box, BoxVM: BoxVMName(box.Name, box.Version)})
	case KindCreateWorker, KindRepairWorker, KindReplaceWorker:
		if err := needPool(); err != nil {
			return err
		}
		if a.TargetID != "" {
			if err := p.Destroy(ctx, target); err != nil {
				return err
			}
		}
		box := d.Box(pool.Box)
		if box == nil {
			return fmt.Errorf("box %q is not declared", pool.Box)
		}
		golden := a.Golden
		if golden == "" {
			golden = GoldenName(pool.Name, pool.Hash)
		}
		return p.CreateWorker(ctx, WorkerRequest{Name: a.Target, Pool: *pool, Box: *box, Golden: golden})
	case KindReplaceBox:
		box := d.Box(a.Box)
		if box == nil {
			return fmt.Errorf("box %q is not declared", a.Box)
		}
		if err := p.Destroy(ctx, target); err != nil {
			return err
		}
		if err := ap.Boxes.Remove(box.Name, box.Version); err != nil {
			return err
		}
		dir, err := ap.Boxes.Fetch(ctx, *box)
		if err != nil {
			return err
		}
		return p.ImportBox(ctx, ImportRequest{Name: a.Target, Box: *box, Dir: dir})
	case KindStartWorker:
		return p.StartWorker(ctx, target)
	case KindDestroyWorker, KindDestroyOrphan, KindCollectGolden:
		return p.Destroy(ctx, target)
	case KindCollectBox:
		if err := p.Destroy(ctx, target); err != nil {
			return err
		}
		if ap.Boxes != nil {
			return ap.Boxes.Remove(a.Box, a.Version)
		}
		return nil
	default:
		return fmt.Errorf("unknown action kind %q", a.Kind)
	}
}
