package vboxprovider

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fleet-agent/fleet/chef/chefsim"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
)

// End-to-end tests: the real reconcile, provider, driver and box cache against the VirtualBox
// simulator. Each checks the host is exactly right afterwards (see env.checkConverged).

func TestScaleFromZero(t *testing.T) {
	e := newEnv(t)
	d := e.desired(fleetSpec{vms: 3})
	e.mustConverge(d)
	runs := e.chefRuns(reconcile.GoldenName("ruby", d.Pools[0].Hash))
	if len(runs) != 1 || !slices.Equal(runs[0].Applied, []string{"git::default"}) || !runs[0].OK {
		t.Errorf("golden chef runs = %+v, want one successful run of git::default", runs)
	}
}

func TestRecipesChangedRollsWorkers(t *testing.T) {
	e := newEnv(t)
	old := e.desired(fleetSpec{vms: 3})
	e.mustConverge(old)
	d := e.desired(fleetSpec{vms: 3, recipes: []string{"git", "rvm::multi"}})
	plan := e.plan(d)
	if got := kinds(plan); !slices.Equal(got, []string{"build_golden", "replace_worker", "replace_worker", "replace_worker", "collect_golden"}) {
		t.Fatalf("plan kinds = %v", got)
	}
	if r := plan.Actions[0].Reason; r != "recipes changed (+rvm::multi), cookbook rvm added" {
		t.Errorf("golden reason = %q", r)
	}
	e.mustConverge(d)
	runs := e.chefRuns(reconcile.GoldenName("ruby", d.Pools[0].Hash))
	if len(runs) != 1 || !slices.Contains(runs[0].Applied, "rvm::multi") {
		t.Errorf("new golden chef runs = %+v, want rvm::multi applied", runs)
	}
}

func TestBoxVersionChanged(t *testing.T) {
	e := newEnv(t)
	e.mustConverge(e.desired(fleetSpec{vms: 2}))
	d := e.desired(fleetSpec{vms: 2, version: "2.1.0"})
	if a := e.plan(d).Action("replace_worker/ruby-1"); a == nil || a.Reason != "box lucid32 2.0.0 -> 2.1.0" {
		t.Fatalf("replace action = %+v", a)
	}
	e.mustConverge(d)
}

func TestScaleDown(t *testing.T) {
	e := newEnv(t)
	e.mustConverge(e.desired(fleetSpec{vms: 3}))
	e.mustConverge(e.desired(fleetSpec{vms: 1}))
}

func TestHandChanges(t *testing.T) {
	tests := []struct {
		name     string
		change   [][]string
		wantKind reconcile.Kind
	}{
		{"powered off by hand is started", [][]string{{"controlvm", "ruby-2", "poweroff"}}, reconcile.KindStartWorker},
		{"deleted by hand is recreated", [][]string{{"controlvm", "ruby-2", "poweroff"}, {"unregistervm", "ruby-2", "--delete"}}, reconcile.KindCreateWorker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			d := e.desired(fleetSpec{vms: 2})
			e.mustConverge(d)
			for _, args := range tt.change {
				if _, stderr, code := e.sim.Run(t, args...); code != 0 {
					t.Fatalf("%v: exit %d: %s", args, code, stderr)
				}
			}
			if got := e.plan(d).Actions; len(got) != 1 || got[0].Kind != tt.wantKind || got[0].Target != "ruby-2" {
				t.Fatalf("plan = %+v, want one %s of ruby-2", got, tt.wantKind)
			}
			e.mustConverge(d)
		})
	}
}

// TestForeignVMUntouched checks a VM without our owner mark survives, whatever its name.
func TestForeignVMUntouched(t *testing.T) {
	e := newEnv(t)
	if _, stderr, code := e.sim.Run(t, "createvm", "--name", "ruby-3", "--register"); code != 0 {
		t.Fatalf("createvm: %s", stderr)
	}
	if _, stderr, code := e.sim.Run(t, "setextradata", "ruby-3", reconcile.KeyOwner, "build-02"); code != 0 {
		t.Fatalf("setextradata: %s", stderr)
	}
	d := e.desired(fleetSpec{vms: 2})
	e.mustConverge(d)
	inv, err := e.observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Foreign) != 1 || inv.Foreign[0].Name != "ruby-3" || inv.Foreign[0].Owner != "build-02" {
		t.Errorf("foreign = %+v, want ruby-3 of build-02", inv.Foreign)
	}
}

// TestFaultsConvergeAfterRetries injects failures into clone, start and snapshot: the apply
// reports each and still converges.
func TestFaultsConvergeAfterRetries(t *testing.T) {
	e := newEnv(t)
	e.sim.Inject(t,
		vboxsim.Fault{Op: "clonevm", Nth: 2, Kind: vboxsim.FaultCloneDies},
		vboxsim.Fault{Op: "startvm", Nth: 3, Block: vboxsim.BlockVMError},
		vboxsim.Fault{Op: "snapshot_take", Nth: 2, Block: vboxsim.BlockVMError},
		vboxsim.Fault{Op: "startvm", Nth: 5, Times: 2, Block: vboxsim.BlockObjectNotReady}, // retried inside the driver
	)
	d := e.desired(fleetSpec{vms: 3})
	res := e.mustConverge(d)
	failed := map[string]bool{}
	for _, err := range res.Failures {
		var ce *vbox.CmdError
		if errors.As(err, &ce) && len(ce.Args) > 0 {
			failed[ce.Args[0]] = true
		}
	}
	for _, op := range []string{"clonevm", "startvm", "snapshot"} {
		if !failed[op] {
			t.Errorf("no reported failure of %s in %v", op, res.Failures)
		}
	}
	if res.Passes < 2 {
		t.Errorf("converged in %d pass; the faults should have needed another", res.Passes)
	}
}

func (e *env) plan(d reconcile.Desired) reconcile.Plan {
	e.t.Helper()
	inv, err := e.observe(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return reconcile.Diff(d, inv)
}

func (e *env) chefRuns(vm string) []chefsim.Run {
	e.t.Helper()
	runs, err := chefsim.ReadRuns(filepath.Join(e.sim.Home, "machines", vm, "disk"))
	if err != nil {
		e.t.Fatal(err)
	}
	return runs
}

func kinds(p reconcile.Plan) []string {
	var out []string
	for _, a := range p.Actions {
		out = append(out, string(a.Kind))
	}
	return out
}
