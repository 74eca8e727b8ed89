// The real Engine and Queue: reconcile over a Provider and a BoxStore, and the Resque queue.
// agent/run.go builds them with the VirtualBox provider; tests use them with fakes underneath.
package daemon

import (
	"context"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/spec"
)

// ReconcileEngine is the Engine of a host: reconcile's Observe, Diff's desired state from the
// spec and its Applier. Its Applier runs one Apply at a time, which the daemon's single loop
// guarantees.
type ReconcileEngine struct {
	Provider reconcile.Provider
	Boxes    reconcile.BoxStore
	// Applier executes plans; its Provider and Boxes must be the ones above.
	Applier *reconcile.Applier
	// Exclusive says the daemon holds the host's apply lock (see reconcile.Inventory).
	Exclusive bool
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Desired resolves and fingerprints the pools' cookbooks and builds the desired state.
func (e *ReconcileEngine) Desired(ctx context.Context, f *spec.Fleet) (reconcile.Desired, error) {
	ids, err := reconcile.Fingerprints(f)
	if err != nil {
		return reconcile.Desired{}, err
	}
	return reconcile.NewDesired(f, ids), nil
}

// Observe reads the provider and the box cache.
func (e *ReconcileEngine) Observe(ctx context.Context) (reconcile.Inventory, error) {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	return reconcile.Observe(ctx, e.Provider, e.Boxes, e.Exclusive, now())
}

// Apply runs plan with onEvent receiving every action event.
func (e *ReconcileEngine) Apply(ctx context.Context, desired reconcile.Desired, plan reconcile.Plan, onEvent func(reconcile.Event)) error {
	e.Applier.OnEvent = onEvent
	return e.Applier.Apply(ctx, desired, plan)
}

// QueueClient adapts *queue.Client to Queue.
type QueueClient struct{ C *queue.Client }

// NewSlot returns the client's slot for one VM.
func (q QueueClient) NewSlot(name string, queues []string) (Slot, error) {
	return q.C.NewSlot(name, queues)
}

// Run heartbeats and recovers until ctx ends.
func (q QueueClient) Run(ctx context.Context) error { return q.C.Run(ctx) }

// Jobs is the client itself: sandboxes append logs and watch cancels through it.
func (q QueueClient) Jobs() sandbox.Queue { return q.C }

// Pending counts the client's outbox entries.
func (q QueueClient) Pending() int { return q.C.Pending() }

// SubmittedAt reads the job's submit time from its record; zero when it has none.
func (q QueueClient) SubmittedAt(ctx context.Context, id string) time.Time {
	st, err := q.C.JobStatus(ctx, id)
	if err != nil {
		return time.Time{}
	}
	return st.SubmittedAt
}
