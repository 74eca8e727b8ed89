package vbox

import (
	"context"
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
	checkSerialised(t, d, g, "web", "{0B4C7D3E-1F2A-4B5C-8D9E-0A1B2C3D4E5F}", uuid)
	ctx := context.Background()
	if err := d.Unregister(ctx, uuid); err != nil {
		t.Fatal(err)
	}
	if k := d.lockKey("web"); k != "web" {
		t.Errorf("after unregister, lockKey(web) = %q, want the name as given", k)
	}
}
