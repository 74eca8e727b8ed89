package vboxprovider

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/vbox"
)

// onVersion makes e simulate VirtualBox version v, with a new driver and provider.
func (e *env) onVersion(v string) *env {
	e.sim.SetVersion(v)
	e.driver = e.newDriver(4)
	e.prov = e.newProvider(e.driver)
	return e
}

// loopbackShown is what showvminfo prints for vm's NAT adapter 1: "0", "1", or "" for nothing.
func (e *env) loopbackShown(vm string) string {
	e.t.Helper()
	info, err := e.driver.Info(context.Background(), vm)
	if err != nil {
		e.t.Fatal(err)
	}
	return info.LocalhostSetting(1)
}

func TestHostLoopbackClosedOnGoldenAndWorkersSim(t *testing.T) {
	tests := []struct {
		name    string
		version string
		// boxVM and made are the expected settings of the imported box VM (left alone) and of
		// the golden and every worker.
		boxVM, made string
	}{
		{name: "7.0 closes it explicitly although the box is open", version: "7.0.14r161095", boxVM: "1", made: "0"},
		{name: "6.1 has no setting and still converges", version: "6.1.50r161033", boxVM: "", made: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t).onVersion(tt.version)
			d := e.desired(fleetSpec{vms: 1})
			e.mustConverge(d)
			p := d.Pools[0]
			if got := e.loopbackShown(reconcile.BoxVMName(p.Box, p.Image.BoxVersion)); got != tt.boxVM {
				t.Errorf("box VM localhostReachable = %q, want %q", got, tt.boxVM)
			}
			for _, vm := range []string{reconcile.GoldenName(p.Name, p.Hash), reconcile.WorkerName(p.Name, 1)} {
				if got := e.loopbackShown(vm); got != tt.made {
					t.Errorf("%s localhostReachable = %q, want %q", vm, got, tt.made)
				}
			}
		})
	}
}

func TestWorkerWithHostLoopbackOpenIsReplacedWithReasonSim(t *testing.T) {
	e := newEnv(t).onVersion("7.0.14r161095")
	d := e.desired(fleetSpec{vms: 1})
	e.mustConverge(d)
	// A worker made before the agent closed host loopback: powered off and reopened by hand.
	for _, args := range [][]string{{"controlvm", "ruby-1", "poweroff"}, {"modifyvm", "ruby-1", "--nat-localhostreachable1", "on"}} {
		if _, stderr, code := e.sim.Run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	plan := e.plan(d)
	a := plan.Action("replace_worker/ruby-1")
	if a == nil || !strings.Contains(a.Reason, reconcile.NetworkLegacy) {
		t.Fatalf("plan = %+v, want replace_worker/ruby-1 with a host loopback reason", plan.Actions)
	}
	if len(plan.Actions) != 1 {
		t.Errorf("plan = %+v, want only ruby-1 replaced (the golden is kept)", plan.Actions)
	}
	e.mustConverge(d)
	if got := e.loopbackShown("ruby-1"); got != "0" {
		t.Errorf("replacement ruby-1 localhostReachable = %q, want 0", got)
	}
}

func TestVersionReadFailureFailsTheBuildWithoutGuessingSim(t *testing.T) {
	e := newEnv(t).onVersion("not-a-version")
	_, err := e.prov.loopbackOff(context.Background(), "any")
	if !errors.Is(err, vbox.ErrUnexpectedOutput) || !strings.Contains(err.Error(), "read VirtualBox version") {
		t.Fatalf("loopbackOff with an unreadable version = %v", err)
	}
	if e.prov.version != nil {
		t.Errorf("an unreadable version was cached: %v", e.prov.version)
	}
}
