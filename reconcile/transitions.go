// The state-transition table of one worker slot: what is wanted (the slot is within the pool's
// count, or surplus) against what is observed, to the action that closes the gap. classify
// turns an observed VM into one of the observed conditions, in priority order.

package reconcile

import (
	"fmt"
	"time"
)

// Want is the desired state of one worker slot.
type Want int

// Desired states of a worker slot.
const (
	WantPresent Want = iota // index within the pool's count
	WantAbsent              // surplus index, unexpected name, or its pool is gone
)

func (w Want) String() string { return [...]string{"present", "absent"}[w] }

// Observed is the condition of one worker slot, as classify sees it.
type Observed int

// Observed conditions, in the priority classify checks them.
const (
	ObsMissing   Observed = iota // no VM
	ObsCreating                  // phase creating, young, and another pass may be working on it
	ObsOrphan                    // phase creating, left by a pass that died (or timed out)
	ObsBroken                    // the sandbox reported a failed rollback
	ObsAborted                   // the VM process died
	ObsUnhealthy                 // its health check failed
	ObsNoReady                   // ready, but its ready snapshot is gone
	ObsChanging                  // power state in transition (starting, saving, ...)
	ObsStale                     // image hash, memory or CPUs differ from the pool's
	ObsStopped                   // powered off or saved
	ObsRunning                   // converged
	numObserved
)

func (o Observed) String() string {
	return [...]string{"missing", "creating", "orphan", "broken", "aborted", "unhealthy", "no-ready-snapshot",
		"changing", "stale", "stopped", "running"}[o]
}

// step is one cell of the table: the action kind ("" for nothing to do) and whether it can
// only wait (someone else is changing the VM).
type step struct {
	kind Kind
	wait bool
}

// transitions maps (want, observed) to the step. TestTransitionTableIsComplete checks every
// pair has a cell.
var transitions = map[Want]map[Observed]step{
	WantPresent: {
		ObsMissing:   {kind: KindCreateWorker},
		ObsCreating:  {kind: KindRepairWorker, wait: true},
		ObsOrphan:    {kind: KindRepairWorker},
		ObsBroken:    {kind: KindRepairWorker},
		ObsAborted:   {kind: KindRepairWorker},
		ObsUnhealthy: {kind: KindRepairWorker},
		ObsNoReady:   {kind: KindRepairWorker},
		ObsChanging:  {kind: KindStartWorker, wait: true},
		ObsStale:     {kind: KindReplaceWorker},
		ObsStopped:   {kind: KindStartWorker},
		ObsRunning:   {},
	},
	WantAbsent: {
		ObsMissing:   {},
		ObsCreating:  {kind: KindDestroyWorker, wait: true},
		ObsOrphan:    {kind: KindDestroyWorker},
		ObsBroken:    {kind: KindDestroyWorker},
		ObsAborted:   {kind: KindDestroyWorker},
		ObsUnhealthy: {kind: KindDestroyWorker},
		ObsNoReady:   {kind: KindDestroyWorker},
		ObsChanging:  {kind: KindDestroyWorker},
		ObsStale:     {kind: KindDestroyWorker},
		ObsStopped:   {kind: KindDestroyWorker},
		ObsRunning:   {kind: KindDestroyWorker},
	},
}

// condition is a classified worker with the human reason for its condition.
type condition struct {
	obs    Observed
	reason string // e.g. "aborted", "memory 1024 -> 1536"
	wait   string // for ObsCreating/ObsChanging: why it cannot be acted on yet
}

// classify returns the condition of worker vm against pool (nil when the pool is gone).
func classify(vm *VM, pool *PoolSpec, now time.Time, exclusive bool, timeout time.Duration) condition {
	if vm == nil {
		return condition{obs: ObsMissing, reason: "missing"}
	}
	if vm.Phase != PhaseReady || vm.Role != RoleWorker {
		age := now.Sub(vm.Created)
		if exclusive || vm.Created.IsZero() || age >= timeout {
			return condition{obs: ObsOrphan, reason: "creation interrupted"}
		}
		return condition{obs: ObsCreating, reason: "being created",
			wait: fmt.Sprintf("being created since %s by another pass (destroyed after %s)", vm.Created.UTC().Format(time.RFC3339), timeout)}
	}
	switch {
	case vm.Broken:
		return condition{obs: ObsBroken, reason: "broken: rollback failed"}
	case vm.Power == PowerAborted:
		return condition{obs: ObsAborted, reason: "aborted"}
	case vm.Unhealthy != "":
		return condition{obs: ObsUnhealthy, reason: "unhealthy: " + vm.Unhealthy}
	case !vm.HasSnapshot(SnapshotReady):
		return condition{obs: ObsNoReady, reason: "no ready snapshot"}
	case vm.Power == PowerChanging || vm.Power == PowerUnknown:
		return condition{obs: ObsChanging, reason: "power state changing", wait: "power state is changing"}
	}
	if pool != nil {
		switch {
		case vm.Image != pool.Hash:
			return condition{obs: ObsStale, reason: "image " + shortHash(vm.Image) + " -> " + shortHash(pool.Hash)}
		case vm.Memory != pool.Memory:
			return condition{obs: ObsStale, reason: fmt.Sprintf("memory %d -> %d", vm.Memory, pool.Memory)}
		case vm.CPUs != pool.CPUs:
			return condition{obs: ObsStale, reason: fmt.Sprintf("cpus %d -> %d", vm.CPUs, pool.CPUs)}
		case observedNetwork(vm) != desiredNetwork(pool):
			return condition{obs: ObsStale, reason: "network policy changed: " + observedNetwork(vm) + " -> " + desiredNetwork(pool)}
		}
	}
	if vm.Power == PowerStopped {
		return condition{obs: ObsStopped, reason: "stopped"}
	}
	return condition{obs: ObsRunning}
}
