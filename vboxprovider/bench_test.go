package vboxprovider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
)

// countingManage writes a VBoxManage wrapper that appends one line per call to a log and runs
// the simulator, and returns the wrapper and a function counting the calls so far.
func countingManage(tb testing.TB, e *env) (string, func() int) {
	dir := tb.TempDir()
	log := filepath.Join(dir, "calls.log")
	wrapper := filepath.Join(dir, "vboxmanage")
	script := fmt.Sprintf("#!/bin/sh\necho \"$1 $2\" >> %q\nexec %q \"$@\"\n", log, e.sim.Bin)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		tb.Fatal(err)
	}
	return wrapper, func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "\n")
	}
}

// addManagedVMs registers n stopped workers with this host's facts, straight through the
// simulator.
func addManagedVMs(tb testing.TB, e *env, n int) {
	for i := 1; i <= n; i++ {
		name := reconcile.WorkerName("ruby", i)
		for _, args := range [][]string{
			{"createvm", "--name", name, "--register"},
			{"setextradata", name, reconcile.KeyOwner, "build-01"},
			{"setextradata", name, reconcile.KeyRole, reconcile.RoleWorker},
			{"setextradata", name, reconcile.KeyPhase, reconcile.PhaseReady},
		} {
			if _, stderr, code := e.sim.Run(tb, args...); code != 0 {
				tb.Fatalf("%v: %s", args, stderr)
			}
		}
	}
}

// TestIdlePassCallCount checks an idle pass costs two VBoxManage calls whatever the number of
// VMs, and that a VM changed by hand (powered on here) is read again.
func TestIdlePassCallCount(t *testing.T) {
	e := newEnv(t)
	addManagedVMs(t, e, 5)
	manage, calls := countingManage(t, e)
	p := e.newProvider(vbox.New(vbox.Config{Manage: manage, Env: e.sim.Env(), LockDir: filepath.Join(e.stateDir, "locks")}, nil))
	ctx := context.Background()
	steps := []struct {
		name   string
		before func()
		want   int
	}{
		{"cold pass reads every VM", nil, 2 + 2*5},
		{"idle pass lists only", nil, 2},
		{"second idle pass lists only", nil, 2},
		{"a VM the provider changed is read again", func() { p.invalidate("ruby-3") }, 2 + 2},
		{"a VM whose settings file changed is read again", func() {
			future := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(e.sim.Home, "machines", "ruby-4", "ruby-4.vbox"), future, future)
		}, 2 + 2},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		start := calls()
		inv, err := p.Observe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := calls() - start; got != s.want {
			t.Errorf("%s: %d calls, want %d", s.name, got, s.want)
		}
		if len(inv.VMs) != 5 {
			t.Errorf("%s: %d managed VMs, want 5", s.name, len(inv.VMs))
		}
	}
}

// BenchmarkIdlePassCalls measures VBoxManage calls per idle Observe with 50 managed VMs.
func BenchmarkIdlePassCalls(b *testing.B) {
	e := newEnv(b)
	addManagedVMs(b, e, 50)
	manage, calls := countingManage(b, e)
	p := e.newProvider(vbox.New(vbox.Config{Manage: manage, Env: e.sim.Env(), LockDir: filepath.Join(e.stateDir, "locks")}, nil))
	ctx := context.Background()
	if _, err := p.Observe(ctx); err != nil { // the cold pass fills the cache
		b.Fatal(err)
	}
	cold := calls()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Observe(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(calls()-cold)/float64(b.N), "calls/pass")
	b.ReportMetric(float64(cold), "calls/cold-pass")
}

// BenchmarkScale0To8 measures converging an empty host to 8 workers (fetch, import, golden,
// workers) with the simulator's realistic latency profile scaled by 0.1, one action at a time
// and four at a time. Run it with -benchtime=1x: one iteration takes tens of seconds.
func BenchmarkScale0To8(b *testing.B) {
	for _, par := range []int{1, 4} {
		b.Run("max_parallel="+strconv.Itoa(par), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := newEnv(b)
				e.sim.SetProfile(b, vboxsim.RealisticProfile()+"\nscale = 0.1\n")
				e.driver = e.newDriver(par)
				e.prov = e.newProvider(e.driver)
				d := e.desired(fleetSpec{vms: 8})
				ap := &reconcile.Applier{Provider: e.prov, Boxes: e.cache, MaxParallel: par, RetryBase: 20 * time.Millisecond}
				b.StartTimer()
				if _, err := ap.Converge(context.Background(), d, e.observe, nil, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
