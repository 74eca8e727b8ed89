package vbox

import (
	"context"
	"sync"
	"testing"
)

// TestNameAndUUIDOfOneVMAreSerialised: once the driver has seen a VM's name with its UUID
// (here from `list vms`), a mutation by name and one by UUID (any case, braces) wait for each
// other; after the VM is unregistered the name is forgotten.
func TestNameAndUUIDOfOneVMAreSerialised(t *testing.T) {
	const uuid = "0b4c7d3e-1f2a-4b5c-8d9e-0a1b2c3d4e5f"
	g := newGatedRunner()
	d := New(Config{MaxParallel: 4}, nil)
	d.run = g.run
	d.learn(true, VMRef{Name: "web", UUID: uuid})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- d.SetExtraData(ctx, "web", "fleet/a", "1") })
	waitFor(t, "first call to run", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.inFlight == 1 })
	wg.Go(func() { errs <- d.SetExtraData(ctx, "{0B4C7D3E-1F2A-4B5C-8D9E-0A1B2C3D4E5F}", "fleet/b", "2") })
	waitFor(t, "the call by UUID to queue on the name's lock", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.vms[uuid] != nil && d.vms[uuid].refs == 2
	})
	g.mu.Lock()
	if len(g.calls) != 1 {
		t.Errorf("%d calls reached VBoxManage while the first was running, want 1", len(g.calls))
	}
	g.mu.Unlock()
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if g.maxSeen != 1 {
		t.Errorf("max concurrent calls on one VM = %d, want 1", g.maxSeen)
	}
	if err := d.Unregister(ctx, uuid); err != nil {
		t.Fatal(err)
	}
	if k := d.lockKey("web"); k != "web" {
		t.Errorf("after unregister, lockKey(web) = %q, want the name as given", k)
	}
}
