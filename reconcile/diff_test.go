package reconcile

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDiff(t *testing.T) {
	ruby := poolSpec("ruby", 3, "2.0.0", provision("git"))
	ruby1 := ruby
	ruby1.VMs = 1
	rubyNew := poolSpec("ruby", 3, "2.0.0", provision("git", "rvm::multi"))
	rubyBox := poolSpec("ruby", 3, "2.1.0", provision("git"))
	ruby2MU := rubyNew
	ruby2MU.MaxUnavailable = 2
	g := GoldenName("ruby", ruby.Hash)
	gNew := GoldenName("ruby", rubyNew.Hash)
	gBox := GoldenName("ruby", rubyBox.Hash)
	box := BoxVMName("lucid32", "2.0.0")
	box21 := BoxVMName("lucid32", "2.1.0")
	busy := func(v *VM) { v.Busy = true }

	tests := []struct {
		name    string
		desired Desired
		inv     Inventory
		want    []string
	}{
		{
			name:    "empty host to 3 workers imports the cached box, builds a golden, creates workers",
			desired: desiredOf("2.0.0", ruby),
			inv:     inventory(),
			want: []string{
				"import_box " + box,
				"build_golden " + g + " <- import_box/" + box,
				"create_worker ruby-1 <- build_golden/" + g,
				"create_worker ruby-2 <- build_golden/" + g,
				"create_worker ruby-3 <- build_golden/" + g,
			},
		},
		{
			name:    "box not in cache is fetched before import",
			desired: desiredOf("2.1.0", rubyBox),
			inv:     inventory(),
			want: []string{
				"fetch_box lucid32/2.1.0",
				"import_box " + box21 + " <- fetch_box/lucid32/2.1.0",
				"build_golden " + gBox + " <- import_box/" + box21,
				"create_worker ruby-1 <- build_golden/" + gBox,
				"create_worker ruby-2 <- build_golden/" + gBox,
				"create_worker ruby-3 <- build_golden/" + gBox,
			},
		},
		{
			name:    "converged host has no changes",
			desired: desiredOf("2.0.0", ruby),
			inv:     inventory(convergedVMs("2.0.0", ruby)...),
		},
		{
			name:    "recipes changed builds one golden, replaces one at a time, collects the old golden",
			desired: desiredOf("2.0.0", rubyNew),
			inv:     inventory(convergedVMs("2.0.0", ruby)...),
			want: []string{
				"build_golden " + gNew,
				"replace_worker ruby-1 <- build_golden/" + gNew,
				"replace_worker ruby-2 <- build_golden/" + gNew + ",replace_worker/ruby-1",
				"replace_worker ruby-3 <- build_golden/" + gNew + ",replace_worker/ruby-2",
				"collect_golden " + g + " <- replace_worker/ruby-1,replace_worker/ruby-2,replace_worker/ruby-3",
			},
		},
		{
			name:    "max_unavailable 2 replaces two at a time",
			desired: desiredOf("2.0.0", ruby2MU),
			inv:     inventory(convergedVMs("2.0.0", ruby)...),
			want: []string{
				"build_golden " + gNew,
				"replace_worker ruby-1 <- build_golden/" + gNew,
				"replace_worker ruby-2 <- build_golden/" + gNew,
				"replace_worker ruby-3 <- build_golden/" + gNew + ",replace_worker/ruby-1",
				"collect_golden " + g + " <- replace_worker/ruby-1,replace_worker/ruby-2,replace_worker/ruby-3",
			},
		},
		{
			name:    "box version changed imports the new box and collects the old golden and box",
			desired: desiredOf("2.1.0", rubyBox),
			inv:     inventory(convergedVMs("2.0.0", ruby)...),
			want: []string{
				"fetch_box lucid32/2.1.0",
				"import_box " + box21 + " <- fetch_box/lucid32/2.1.0",
				"build_golden " + gBox + " <- import_box/" + box21,
				"replace_worker ruby-1 <- build_golden/" + gBox,
				"replace_worker ruby-2 <- build_golden/" + gBox + ",replace_worker/ruby-1",
				"replace_worker ruby-3 <- build_golden/" + gBox + ",replace_worker/ruby-2",
				"collect_golden " + g + " <- replace_worker/ruby-1,replace_worker/ruby-2,replace_worker/ruby-3",
				"collect_box " + box + " <- collect_golden/" + g,
			},
		},
		{
			name:    "3 to 1 destroys the highest index first",
			desired: desiredOf("2.0.0", ruby1),
			inv:     inventory(convergedVMs("2.0.0", ruby)...),
			want:    []string{"destroy_worker ruby-3", "destroy_worker ruby-2"},
		},
		{
			name:    "powered off worker is started",
			desired: desiredOf("2.0.0", ruby),
			inv: inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1), workerVM(ruby, 2, func(v *VM) { v.Power = PowerStopped }),
				workerVM(ruby, 3)),
			want: []string{"start_worker ruby-2"},
		},
		{
			name:    "deleted worker is recreated",
			desired: desiredOf("2.0.0", ruby),
			inv:     inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1), workerVM(ruby, 3)),
			want:    []string{"create_worker ruby-2"},
		},
		{
			name:    "aborted worker is repaired before creates",
			desired: desiredOf("2.0.0", ruby),
			inv:     inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1, func(v *VM) { v.Power = PowerAborted }), workerVM(ruby, 3)),
			want:    []string{"repair_worker ruby-1", "create_worker ruby-2 <- repair_worker/ruby-1"},
		},
		{
			name:    "worker without ready snapshot is repaired",
			desired: desiredOf("2.0.0", ruby1),
			inv:     inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1, func(v *VM) { v.Snapshots = nil })),
			want:    []string{"repair_worker ruby-1"},
		},
		{
			name:    "interrupted clone carrying the golden's facts is repaired",
			desired: desiredOf("2.0.0", ruby1),
			inv:     inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1, func(v *VM) { v.Role = RoleGolden; v.Snapshots = nil })),
			want:    []string{"repair_worker ruby-1"},
		},
		{
			name:    "young creating worker of another pass waits",
			desired: desiredOf("2.0.0", ruby1),
			inv: func() Inventory {
				inv := inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1, func(v *VM) { v.Phase = PhaseCreating; v.Created = t0.Add(-time.Minute) }))
				inv.Exclusive = false
				return inv
			}(),
			want: []string{"repair_worker ruby-1 (waiting: being created since 2025-03-04T09:59:00Z by another pass (destroyed after 30m0s))"},
		},
		{
			name:    "old creating worker is repaired without the lock",
			desired: desiredOf("2.0.0", ruby1),
			inv: func() Inventory {
				inv := inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1, func(v *VM) { v.Phase = PhaseCreating; v.Created = t0.Add(-time.Hour) }))
				inv.Exclusive = false
				return inv
			}(),
			want: []string{"repair_worker ruby-1"},
		},
		{
			name:    "busy stale worker waits and keeps its golden",
			desired: desiredOf("2.0.0", rubyNew),
			inv: inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1), workerVM(ruby, 2, busy),
				workerVM(ruby, 3)),
			want: []string{
				"build_golden " + gNew,
				"replace_worker ruby-1 <- build_golden/" + gNew,
				"replace_worker ruby-2 <- build_golden/" + gNew + " (waiting: busy with a job)",
				"replace_worker ruby-3 <- build_golden/" + gNew + ",replace_worker/ruby-1",
				"collect_golden " + g + " <- replace_worker/ruby-1,replace_worker/ruby-2,replace_worker/ruby-3 (waiting: after replace_worker/ruby-2)",
			},
		},
		{
			name:    "busy surplus worker waits, idle one goes",
			desired: desiredOf("2.0.0", ruby1),
			inv:     inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1), workerVM(ruby, 2), workerVM(ruby, 3, busy)),
			want:    []string{"destroy_worker ruby-3 (waiting: busy with a job)", "destroy_worker ruby-2"},
		},
		{
			name:    "orphan golden is destroyed before the rebuild",
			desired: desiredOf("2.0.0", ruby1),
			inv: inventory(boxVM("2.0.0"), func() VM {
				v := goldenVM(ruby)
				v.Phase, v.Snapshots = PhaseCreating, nil
				return v
			}()),
			want: []string{
				"destroy_orphan " + g,
				"build_golden " + g + " <- destroy_orphan/" + g,
				"create_worker ruby-1 <- build_golden/" + g,
			},
		},
		{
			name:    "pool set to zero removes workers, golden and box",
			desired: desiredOf("2.0.0", poolSpec("ruby", 0, "2.0.0", provision("git"))),
			inv:     inventory(convergedVMs("2.0.0", ruby1)...),
			want: []string{
				"destroy_worker ruby-1",
				"collect_golden " + g + " <- destroy_worker/ruby-1",
				"collect_box " + box + " <- collect_golden/" + g,
			},
		},
		{
			name:    "worker of an undeclared pool and an unexpected name are destroyed",
			desired: desiredOf("2.0.0", ruby1),
			inv: inventory(append(convergedVMs("2.0.0", ruby1),
				workerVM(poolSpec("node", 1, "2.0.0", nil), 1), workerVM(ruby, 1, func(v *VM) { v.Name, v.ID = "ruby-x", "id-x" }))...),
			want: []string{"destroy_worker node-1", "destroy_worker ruby-x"},
		},
		{
			name:    "duplicate worker name destroys the copy being created",
			desired: desiredOf("2.0.0", ruby1),
			inv: inventory(append(convergedVMs("2.0.0", ruby1),
				workerVM(ruby, 1, func(v *VM) { v.ID, v.Phase = "id-dup", PhaseCreating }))...),
			want: []string{"destroy_worker ruby-1"},
		},
		{
			name:    "memory change replaces the worker",
			desired: desiredOf("2.0.0", ruby1),
			inv:     inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1, func(v *VM) { v.Memory = 512 })),
			want:    []string{"replace_worker ruby-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := brief(Diff(tt.desired, tt.inv))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiffIsDeterministic checks the same inputs in another VM order give the same plan.
func TestDiffIsDeterministic(t *testing.T) {
	ruby := poolSpec("ruby", 3, "2.0.0", provision("git"))
	rubyNew := poolSpec("ruby", 2, "2.0.0", provision("git", "rvm"))
	vms := append(convergedVMs("2.0.0", ruby), workerVM(ruby, 4))
	rev := make([]VM, len(vms))
	for i, v := range vms {
		rev[len(vms)-1-i] = v
	}
	a := Diff(desiredOf("2.0.0", rubyNew), inventory(vms...))
	b := Diff(desiredOf("2.0.0", rubyNew), inventory(rev...))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("plans differ with VM order (-first +second):\n%s", diff)
	}
}

// TestDiffReasons checks the human reasons the issue names.
func TestDiffReasons(t *testing.T) {
	ruby := poolSpec("ruby", 5, "2.0.0", provision("git"))
	ruby3 := ruby
	ruby3.VMs = 3
	rubyBox := poolSpec("ruby", 5, "2.1.0", provision("git"))
	tests := []struct {
		name    string
		desired Desired
		inv     Inventory
		id      string
		want    string
	}{
		{"count", desiredOf("2.0.0", ruby3), inventory(convergedVMs("2.0.0", ruby)...), "destroy_worker/ruby-5", "count 5 -> 3"},
		{"aborted", desiredOf("2.0.0", ruby), inventory(append(convergedVMs("2.0.0", ruby3), workerVM(ruby, 4, func(v *VM) { v.Power = PowerAborted }))...),
			"repair_worker/ruby-4", "aborted"},
		{"box version", desiredOf("2.1.0", rubyBox), inventory(convergedVMs("2.0.0", ruby)...), "replace_worker/ruby-1", "box lucid32 2.0.0 -> 2.1.0"},
		{"box version on golden", desiredOf("2.1.0", rubyBox), inventory(convergedVMs("2.0.0", ruby)...),
			"build_golden/" + GoldenName("ruby", rubyBox.Hash), "box lucid32 2.0.0 -> 2.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Diff(tt.desired, tt.inv)
			a := p.Action(tt.id)
			if a == nil {
				t.Fatalf("no action %s in %v", tt.id, brief(p))
			}
			if a.Reason != tt.want {
				t.Errorf("reason = %q, want %q", a.Reason, tt.want)
			}
		})
	}
}
