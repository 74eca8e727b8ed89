package reconcile

import (
	"testing"
	"time"
)

// TestTransitionTableIsComplete checks every (desired, observed) pair has a cell, and that a
// worker that is wanted and converged is the only present slot with nothing to do.
func TestTransitionTableIsComplete(t *testing.T) {
	for _, want := range []Want{WantPresent, WantAbsent} {
		row, ok := transitions[want]
		if !ok {
			t.Fatalf("no row for want %s", want)
		}
		for obs := Observed(0); obs < numObserved; obs++ {
			st, ok := row[obs]
			if !ok {
				t.Errorf("(%s, %s) has no action", want, obs)
				continue
			}
			noop := st.kind == ""
			wantNoop := (want == WantPresent && obs == ObsRunning) || (want == WantAbsent && obs == ObsMissing)
			if noop != wantNoop {
				t.Errorf("(%s, %s) = %q: nothing to do only for a converged wanted worker or a missing surplus one", want, obs, st.kind)
			}
		}
		if len(row) != int(numObserved) {
			t.Errorf("row %s has %d cells, want %d", want, len(row), numObserved)
		}
	}
}

// TestClassify checks each observed condition is reached by the VM facts that define it.
func TestClassify(t *testing.T) {
	p := poolSpec("ruby", 1, "2.0.0", nil)
	tests := []struct {
		name      string
		vm        *VM
		exclusive bool
		want      Observed
	}{
		{"missing", nil, true, ObsMissing},
		{"creating young without the lock", ptr(workerVM(p, 1, func(v *VM) { v.Phase = PhaseCreating; v.Created = t0 })), false, ObsCreating},
		{"creating with the lock", ptr(workerVM(p, 1, func(v *VM) { v.Phase = PhaseCreating; v.Created = t0 })), true, ObsOrphan},
		{"creating without a time", ptr(workerVM(p, 1, func(v *VM) { v.Phase = PhaseCreating; v.Created = time.Time{} })), false, ObsOrphan},
		{"golden facts on a worker name", ptr(workerVM(p, 1, func(v *VM) { v.Role = RoleGolden })), false, ObsOrphan},
		{"broken", ptr(workerVM(p, 1, func(v *VM) { v.Broken = true })), true, ObsBroken},
		{"aborted", ptr(workerVM(p, 1, func(v *VM) { v.Power = PowerAborted })), true, ObsAborted},
		{"unhealthy", ptr(workerVM(p, 1, func(v *VM) { v.Unhealthy = "ssh refused" })), true, ObsUnhealthy},
		{"no ready snapshot", ptr(workerVM(p, 1, func(v *VM) { v.Snapshots = []string{"other"} })), true, ObsNoReady},
		{"changing", ptr(workerVM(p, 1, func(v *VM) { v.Power = PowerChanging })), true, ObsChanging},
		{"stale image", ptr(workerVM(p, 1, func(v *VM) { v.Image = "other" })), true, ObsStale},
		{"stale cpus", ptr(workerVM(p, 1, func(v *VM) { v.CPUs = 4 })), true, ObsStale},
		{"stopped", ptr(workerVM(p, 1, func(v *VM) { v.Power = PowerStopped })), true, ObsStopped},
		{"running", ptr(workerVM(p, 1)), true, ObsRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.vm, &p, t0.Add(time.Minute), tt.exclusive, DefaultCreateTimeout)
			if got.obs != tt.want {
				t.Errorf("classify = %s, want %s", got.obs, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
