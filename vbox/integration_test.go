package vbox_test

// Integration tests: the driver against the VBoxManage simulator (vbox/vboxsim), for every
// operation and the error paths real VirtualBox produces. The driver never imports the
// simulator; only these tests put the two together.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

func simDriver(t *testing.T, sim *simtest.Sim) *vbox.Driver {
	t.Helper()
	return vbox.New(vbox.Config{
		Manage: sim.Bin, Env: sim.Env(), LockDir: t.TempDir(), PortRange: [2]int{42200, 42299},
		Retries: 4, RetryBase: 5 * time.Millisecond, PollInterval: 10 * time.Millisecond,
	}, nil)
}

// imported returns a simulator with one imported box VM called name.
func imported(t *testing.T, name string) (*vbox.Driver, *simtest.Sim, vbox.VMRef) {
	t.Helper()
	sim := simtest.New(t)
	d := simDriver(t, sim)
	ovf := sim.MakeBox(t, vboxsim.BoxOptions{Memory: 512, CPUs: 1})
	ref, err := d.Import(context.Background(), ovf, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d, sim, ref
}

func wantState(t *testing.T, d *vbox.Driver, vm, want string) {
	t.Helper()
	got, err := d.State(context.Background(), vm)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("state of %s = %q, want %q", vm, got, want)
	}
}

func TestSimImportListInfo(t *testing.T) {
	ctx := context.Background()
	sim := simtest.New(t)
	d := simDriver(t, sim)
	if refs, err := d.List(ctx); err != nil || len(refs) != 0 {
		t.Fatalf("List on an empty host = %v, %v", refs, err)
	}
	v, err := d.Version(ctx)
	if err != nil || v.Major < 4 {
		t.Fatalf("Version = %+v, %v", v, err)
	}
	ovf := sim.MakeBox(t, vboxsim.BoxOptions{Memory: 384, CPUs: 2})
	var steps []int
	ref, err := d.Import(ctx, ovf, "box lucid32", func(p int) { steps = append(steps, p) })
	if err != nil {
		t.Fatal(err)
	}
	if ref.Name != "box lucid32" || len(ref.UUID) != 36 {
		t.Errorf("Import = %+v", ref)
	}
	if len(steps) == 0 || steps[len(steps)-1] != 100 {
		t.Errorf("import progress = %v, want it to end at 100", steps)
	}
	refs, err := d.List(ctx)
	if err != nil || !slices.Contains(refs, ref) {
		t.Fatalf("List = %v, %v; want it to contain %+v", refs, err, ref)
	}
	info, err := d.Info(ctx, ref.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != ref.Name || info.UUID != ref.UUID || info.State != "poweroff" || info.Memory != 384 || info.CPUs != 2 {
		t.Errorf("Info = name %q uuid %q state %q memory %d cpus %d", info.Name, info.UUID, info.State, info.Memory, info.CPUs)
	}
	if _, err := os.Stat(info.CfgFile); err != nil {
		t.Errorf("CfgFile %q: %v", info.CfgFile, err)
	}
	if _, err := d.Import(ctx, ovf, "box lucid32", nil); !errors.Is(err, vbox.ErrAlreadyExists) {
		t.Errorf("second Import under the same name = %v, want ErrAlreadyExists", err)
	}
	if _, err := d.Info(ctx, "nope"); !errors.Is(err, vbox.ErrNotFound) {
		t.Errorf("Info of a missing VM = %v, want ErrNotFound", err)
	}
	if _, err := d.Find(ctx, "nope"); !errors.Is(err, vbox.ErrNotFound) {
		t.Errorf("Find of a missing VM = %v, want ErrNotFound", err)
	}
}

func TestSimExtraDataAndSettings(t *testing.T) {
	ctx := context.Background()
	d, _, ref := imported(t, "w1")
	for k, v := range map[string]string{"fleet/owner": "build-01", "fleet/role": "worker"} {
		if err := d.SetExtraData(ctx, ref.UUID, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, err := d.GetExtraData(ctx, ref.UUID, "fleet/owner"); err != nil || !ok || v != "build-01" {
		t.Errorf("GetExtraData = %q %v %v", v, ok, err)
	}
	if err := d.DeleteExtraData(ctx, ref.UUID, "fleet/role"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := d.GetExtraData(ctx, ref.UUID, "fleet/role"); err != nil || ok {
		t.Errorf("GetExtraData after delete = set %v, %v", ok, err)
	}
	info, err := d.Info(ctx, ref.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if info.ExtraData["fleet/owner"] != "build-01" || len(info.ExtraData) != 1 {
		t.Errorf("Info.ExtraData = %v", info.ExtraData)
	}
	if err := d.Modify(ctx, ref.UUID, vbox.ModifyOptions{Memory: 1536, CPUs: 2}); err != nil {
		t.Fatal(err)
	}
	if info, err = d.Info(ctx, ref.UUID); err != nil || info.Memory != 1536 || info.CPUs != 2 {
		t.Errorf("after Modify: memory %d cpus %d, %v", info.Memory, info.CPUs, err)
	}
}

func TestSimForwards(t *testing.T) {
	ctx := context.Background()
	d, sim, ref := imported(t, "w1")
	ovf := sim.MakeBox(t, vboxsim.BoxOptions{})
	other, err := d.Import(ctx, ovf, "w2", nil)
	if err != nil {
		t.Fatal(err)
	}
	f1, err := d.AllocateForward(ctx, ref.UUID, "ssh", 22)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := d.AllocateForward(ctx, other.Name, "ssh", 22)
	if err != nil {
		t.Fatal(err)
	}
	if f1.HostPort != 42200 || f2.HostPort != 42201 {
		t.Errorf("allocated ports %d and %d, want 42200 and 42201", f1.HostPort, f2.HostPort)
	}
	again, err := d.AllocateForward(ctx, ref.UUID, "ssh", 22)
	if err != nil || again != f1 {
		t.Errorf("second AllocateForward = %+v, %v; want the same %+v", again, err, f1)
	}
	info, err := d.Info(ctx, ref.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Forwards) != 1 || info.Forwards[0] != f1 {
		t.Errorf("Info.Forwards = %+v, want [%+v]", info.Forwards, f1)
	}
	dup := vbox.Forward{Name: "ssh", HostPort: 42250, GuestPort: 22}
	if err := d.AddForward(ctx, ref.UUID, dup); !errors.Is(err, vbox.ErrAlreadyExists) {
		t.Errorf("AddForward of an existing name = %v, want ErrAlreadyExists", err)
	}
	if err := d.DeleteForward(ctx, ref.UUID, 1, "nope"); !errors.Is(err, vbox.ErrNotFound) {
		t.Errorf("DeleteForward of a missing rule = %v, want ErrNotFound", err)
	}
	if err := d.DeleteForward(ctx, ref.UUID, 1, "ssh"); err != nil {
		t.Fatal(err)
	}
	// A running VM's rules change through controlvm.
	if err := d.Start(ctx, ref.UUID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.PowerOff(context.Background(), ref.UUID) })
	if err := d.AddForward(ctx, ref.UUID, vbox.Forward{Name: "web", HostPort: 42260, GuestPort: 80}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteForward(ctx, ref.UUID, 1, "web"); err != nil {
		t.Fatal(err)
	}
}

func TestSimLifecycle(t *testing.T) {
	ctx := context.Background()
	d, _, box := imported(t, "box")
	golden, err := d.TakeSnapshot(ctx, box.UUID, "golden", false)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := d.Snapshots(ctx, box.UUID)
	if err != nil || tree.Root == nil || tree.Root.UUID != golden || tree.CurrentUUID != golden {
		t.Fatalf("Snapshots = %+v, %v; want root and current %s", tree, err, golden)
	}
	w, err := d.Clone(ctx, box.UUID, vbox.CloneOptions{Name: "worker-1", Snapshot: "golden", Linked: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tree, err := d.Snapshots(ctx, w.UUID); err != nil || tree.Root != nil {
		t.Errorf("a fresh clone's Snapshots = %+v, %v; want an empty tree", tree, err)
	}
	if _, err := d.Clone(ctx, box.UUID, vbox.CloneOptions{Name: "worker-2", Snapshot: "nope", Linked: true}, nil); !errors.Is(err, vbox.ErrNotFound) {
		t.Errorf("Clone from a missing snapshot = %v, want ErrNotFound", err)
	}
	full, err := d.Clone(ctx, box.UUID, vbox.CloneOptions{Name: "full-copy"}, nil)
	if err != nil {
		t.Fatal(err)
	}

	if err := d.Start(ctx, w.UUID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.PowerOff(context.Background(), w.UUID) })
	wantState(t, d, w.UUID, "running")
	running, err := d.ListRunning(ctx)
	if err != nil || !slices.Contains(running, w) {
		t.Errorf("ListRunning = %v, %v; want it to contain %+v", running, err, w)
	}
	if err := d.Start(ctx, w.UUID); !errors.Is(err, vbox.ErrInvalidState) {
		t.Errorf("Start of a running VM = %v, want ErrInvalidState", err)
	}
	if err := d.Modify(ctx, w.UUID, vbox.ModifyOptions{CPUs: 2}); !errors.Is(err, vbox.ErrLocked) {
		t.Errorf("Modify of a running VM = %v, want ErrLocked", err)
	}
	if err := d.RestoreSnapshot(ctx, w.UUID, "golden"); err == nil {
		t.Error("RestoreSnapshot on a running VM succeeded")
	}
	ready, err := d.TakeSnapshot(ctx, w.UUID, "ready", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOff(ctx, w.UUID); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, w.UUID, "poweroff")
	if err := d.PowerOff(ctx, w.UUID); !errors.Is(err, vbox.ErrInvalidState) {
		t.Errorf("PowerOff of a stopped VM = %v, want ErrInvalidState", err)
	}
	if err := d.SaveState(ctx, w.UUID); !errors.Is(err, vbox.ErrInvalidState) {
		t.Errorf("SaveState of a stopped VM = %v, want ErrInvalidState", err)
	}
	// Rollback: restore the live snapshot and resume from its saved state.
	if err := d.RestoreSnapshot(ctx, w.UUID, ready); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, w.UUID, "saved")
	if err := d.Modify(ctx, w.UUID, vbox.ModifyOptions{CPUs: 2}); !errors.Is(err, vbox.ErrInvalidState) {
		t.Errorf("Modify of a saved VM = %v, want ErrInvalidState", err)
	}
	if err := d.Start(ctx, w.UUID); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, w.UUID, "running")
	if err := d.Pause(ctx, w.UUID); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, w.UUID, "paused")
	if err := d.Resume(ctx, w.UUID); err != nil {
		t.Fatal(err)
	}
	if err := d.SaveState(ctx, w.UUID); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, w.UUID, "saved")
	if err := d.Start(ctx, w.UUID); err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(ctx, w.UUID, 0); err != nil {
		t.Fatal(err)
	}
	wantState(t, d, w.UUID, "poweroff")
	if err := d.Shutdown(ctx, w.UUID, time.Minute); err != nil {
		t.Errorf("Shutdown of a stopped VM = %v, want nil", err)
	}

	tree, err = d.Snapshots(ctx, w.UUID)
	if err != nil || tree.Find(ready) == nil {
		t.Fatalf("Snapshots = %+v, %v; want %s in it", tree, err, ready)
	}
	if err := d.DeleteSnapshot(ctx, w.UUID, ready); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSnapshot(ctx, w.UUID, ready); !errors.Is(err, vbox.ErrNotFound) {
		t.Errorf("second DeleteSnapshot = %v, want ErrNotFound", err)
	}
	out := filepath.Join(t.TempDir(), "full.ovf")
	if err := d.Export(ctx, full.UUID, out, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("export wrote nothing: %v", err)
	}
	for _, vm := range []string{w.UUID, full.UUID} {
		if err := d.Unregister(ctx, vm); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Info(ctx, vm); !errors.Is(err, vbox.ErrNotFound) {
			t.Errorf("Info after Unregister = %v, want ErrNotFound", err)
		}
	}
}

func TestSimAcpiShutdownWaitsForTheGuest(t *testing.T) {
	ctx := context.Background()
	d, _, ref := imported(t, "w1")
	if err := d.Start(ctx, ref.UUID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.PowerOff(context.Background(), ref.UUID) })
	if err := d.Shutdown(ctx, ref.UUID, time.Minute); err != nil {
		t.Fatal(err)
	}
	st, err := d.State(ctx, ref.UUID)
	if err != nil || !vbox.IsStopped(st) {
		t.Errorf("state after Shutdown = %q, %v; want stopped", st, err)
	}
}

func TestSimFaults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		faults  []vboxsim.Fault
		op      func(d *vbox.Driver, vm string) error
		wantErr error
	}{
		{name: "object not ready twice is retried",
			faults: []vboxsim.Fault{{Op: "showvminfo", Times: 2, Block: vboxsim.BlockObjectNotReady}},
			op:     func(d *vbox.Driver, vm string) error { _, err := d.Info(ctx, vm); return err }},
		{name: "server exec failure is retried",
			faults: []vboxsim.Fault{{Op: "list", Block: vboxsim.BlockServerExec}},
			op:     func(d *vbox.Driver, vm string) error { _, err := d.List(ctx); return err }},
		{name: "a lock that never clears gives up",
			faults:  []vboxsim.Fault{{Op: "setextradata", Times: -1, Block: vboxsim.BlockLocked}},
			op:      func(d *vbox.Driver, vm string) error { return d.SetExtraData(ctx, vm, "fleet/phase", "ready") },
			wantErr: vbox.ErrLocked},
		{name: "a lock lingering after poweroff is waited out",
			faults: []vboxsim.Fault{{Op: "controlvm_poweroff", Kind: vboxsim.FaultLockLinger, After: vboxsim.Duration(30 * time.Millisecond)}},
			op: func(d *vbox.Driver, vm string) error {
				if err := d.Start(ctx, vm); err != nil {
					return err
				}
				if err := d.PowerOff(ctx, vm); err != nil {
					return err
				}
				return d.Modify(ctx, vm, vbox.ModifyOptions{Memory: 768})
			}},
		{name: "not found is final",
			faults:  []vboxsim.Fault{{Op: "startvm", Block: vboxsim.BlockNotFound}},
			op:      func(d *vbox.Driver, vm string) error { return d.Start(ctx, vm) },
			wantErr: vbox.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, sim, ref := imported(t, "w1")
			t.Cleanup(func() { _ = d.PowerOff(context.Background(), ref.UUID) })
			sim.Inject(t, tt.faults...)
			if err := tt.op(d, ref.UUID); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
