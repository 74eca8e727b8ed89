package vbox

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReadOperations(t *testing.T) {
	ctx := context.Background()
	t.Run("list vms", func(t *testing.T) {
		d := transcriptDriver(t, step{args: []string{"list", "vms"}, stdout: sample(t, "list-vms.txt")})
		got, err := d.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []VMRef{{Name: "Ubuntu", UUID: uuidA}, {Name: "go-virtualbox", UUID: uuidB}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("list runningvms", func(t *testing.T) {
		d := transcriptDriver(t, step{args: []string{"list", "runningvms"}, stdout: sample(t, "list-runningvms-6.1.txt")})
		got, err := d.ListRunning(ctx)
		if err != nil || len(got) != 1 || got[0].Name != "centos8" {
			t.Fatalf("ListRunning = %v, %v", got, err)
		}
	})
	t.Run("version after a warning block", func(t *testing.T) {
		d := transcriptDriver(t, step{args: []string{"--version"}, stdout: sample(t, "version-4.1.2-ubuntu-with-warning.txt")})
		v, err := d.Version(ctx)
		if err != nil || v.String() != "4.1.2" {
			t.Fatalf("Version = %v, %v", v, err)
		}
	})
	t.Run("info reads showvminfo and extradata", func(t *testing.T) {
		d := transcriptDriver(t,
			step{args: []string{"showvminfo", "go-virtualbox", "--machinereadable"}, stdout: sample(t, "showvminfo-5.2-saved.txt")},
			step{args: []string{"getextradata", "go-virtualbox", "enumerate"}, stdout: "Key: fleet/owner, Value: build-01\nKey: fleet/phase, Value: ready\n"},
		)
		info, err := d.Info(ctx, "go-virtualbox")
		if err != nil {
			t.Fatal(err)
		}
		if info.State != "saved" || info.CfgFile != "/Users/fix/VirtualBox VMs/go-virtualbox/go-virtualbox.vbox" {
			t.Errorf("Info = state %q cfg %q", info.State, info.CfgFile)
		}
		want := map[string]string{"fleet/owner": "build-01", "fleet/phase": "ready"}
		if diff := cmp.Diff(want, info.ExtraData); diff != "" {
			t.Errorf("ExtraData (-want +got):\n%s", diff)
		}
	})
	t.Run("info of a missing VM is not found and not retried", func(t *testing.T) {
		d := transcriptDriver(t, step{args: []string{"showvminfo", "windows7", "--machinereadable"},
			stderr: sample(t, "error-not-found-showvminfo-5.x.txt"), exit: 1})
		_, err := d.Info(ctx, "windows7")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Info = %v, want ErrNotFound", err)
		}
	})
	t.Run("info retries an object that is not ready", func(t *testing.T) {
		d := transcriptDriver(t,
			step{args: []string{"showvminfo", vm, "--machinereadable"}, stderr: sample(t, "error-object-not-ready-truncated.txt"), exit: 1},
			step{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("running")},
		)
		if st, err := d.State(ctx, vm); err != nil || st != "running" {
			t.Fatalf("State = %q, %v", st, err)
		}
	})
	t.Run("extradata get set and unset", func(t *testing.T) {
		d := transcriptDriver(t,
			step{args: []string{"getextradata", vm, "fleet/owner"}, stdout: "Value: build-01\n"},
			step{args: []string{"getextradata", vm, "fleet/pool"}, stdout: sample(t, "guestproperty-get-unset.txt")},
		)
		if v, ok, err := d.GetExtraData(ctx, vm, "fleet/owner"); err != nil || !ok || v != "build-01" {
			t.Errorf("GetExtraData set = %q %v %v", v, ok, err)
		}
		if v, ok, err := d.GetExtraData(ctx, vm, "fleet/pool"); err != nil || ok || v != "" {
			t.Errorf("GetExtraData unset = %q %v %v", v, ok, err)
		}
	})
	t.Run("snapshots nested", func(t *testing.T) {
		d := transcriptDriver(t, step{args: []string{"snapshot", vm, "list", "--machinereadable"}, stdout: sample(t, "snapshot-list-nested.txt")})
		tree, err := d.Snapshots(ctx, vm)
		if err != nil || tree.CurrentName != "Snapshot-Export" || len(tree.All()) != 11 {
			t.Fatalf("Snapshots = %+v, %v", tree, err)
		}
	})
	t.Run("no snapshots is an empty tree despite exit 1", func(t *testing.T) {
		d := transcriptDriver(t, step{args: []string{"snapshot", vm, "list", "--machinereadable"}, stdout: sample(t, "snapshot-list-none.txt"), exit: 1})
		tree, err := d.Snapshots(ctx, vm)
		if err != nil || tree.Root != nil {
			t.Fatalf("Snapshots = %+v, %v", tree, err)
		}
	})
}

func TestImageOperations(t *testing.T) {
	ctx := context.Background()
	importStderr := progress100 + "Interpreting /boxes/lucid32/box.ovf...\nOK.\n" + progress100
	t.Run("import reports progress and finds the new VM", func(t *testing.T) {
		d := transcriptDriver(t,
			step{args: []string{"import", "/boxes/lucid32/box.ovf", "--vsys", "0", "--vmname", "go-virtualbox"},
				stdout: "Successfully imported the appliance.\n", stderr: importStderr},
			step{args: []string{"list", "vms"}, stdout: sample(t, "list-vms.txt")},
		)
		var steps []int
		ref, err := d.Import(ctx, "/boxes/lucid32/box.ovf", "go-virtualbox", func(p int) { steps = append(steps, p) })
		if err != nil {
			t.Fatal(err)
		}
		if ref.UUID != uuidB {
			t.Errorf("Import = %+v, want UUID %s", ref, uuidB)
		}
		if want := []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}; !cmp.Equal(want, steps) {
			t.Errorf("progress = %v, want %v", steps, want)
		}
	})
	t.Run("import over an existing settings file", func(t *testing.T) {
		d := transcriptDriver(t, step{args: []string{"import", "/b/box.ovf", "--vsys", "0", "--vmname", "precise32"},
			stderr: sample(t, "import-error-settings-file-exists-4.3.txt"), exit: 1})
		_, err := d.Import(ctx, "/b/box.ovf", "precise32", nil)
		if !errors.Is(err, ErrAlreadyExists) {
			t.Fatalf("Import = %v, want ErrAlreadyExists", err)
		}
	})
	t.Run("linked clone from a named snapshot", func(t *testing.T) {
		d := transcriptDriver(t,
			step{args: []string{"clonevm", "golden-ab12", "--name", "Ubuntu", "--register", "--snapshot", "golden", "--options", "link"},
				stdout: "Machine has been successfully cloned as \"Ubuntu\"\n", stderr: progress100},
			step{args: []string{"list", "vms"}, stdout: sample(t, "list-vms.txt")},
		)
		ref, err := d.Clone(ctx, "golden-ab12", CloneOptions{Name: "Ubuntu", Snapshot: "golden", Linked: true}, nil)
		if err != nil || ref.UUID != uuidA {
			t.Fatalf("Clone = %+v, %v", ref, err)
		}
	})
	t.Run("full clone into a base folder", func(t *testing.T) {
		d := transcriptDriver(t,
			step{args: []string{"clonevm", "box", "--name", "Ubuntu", "--register", "--basefolder", "/vms"},
				stdout: "Machine has been successfully cloned as \"Ubuntu\"\n", stderr: progress100},
			step{args: []string{"list", "vms"}, stdout: sample(t, "list-vms.txt")},
		)
		if _, err := d.Clone(ctx, "box", CloneOptions{Name: "Ubuntu", BaseFolder: "/vms"}, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("linked clone without a snapshot makes no call", func(t *testing.T) {
		d := transcriptDriver(t)
		if _, err := d.Clone(ctx, "box", CloneOptions{Name: "x", Linked: true}, nil); err == nil {
			t.Fatal("Clone succeeded without a snapshot")
		}
	})
	t.Run("export", func(t *testing.T) {
		d := transcriptDriver(t, step{args: []string{"export", vm, "--output", "/tmp/w1.ova"},
			stdout: "Successfully exported 1 machine(s).\n", stderr: progress100})
		if err := d.Export(ctx, vm, "/tmp/w1.ova", nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unregister and delete", func(t *testing.T) {
		d := transcriptDriver(t, step{args: []string{"unregistervm", vm, "--delete"}, stderr: sample(t, "unregistervm-delete-success.txt")})
		if err := d.Unregister(ctx, vm); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPowerOperations(t *testing.T) {
	ctx := context.Background()
	start := []string{"startvm", vm, "--type", "headless"}
	info := []string{"showvminfo", vm, "--machinereadable"}
	started := "Waiting for VM \"w1\" to power on...\nVM \"w1\" has been successfully started.\n"
	tests := []struct {
		name    string
		steps   []step
		op      func(d *Driver) error
		wantErr error
		anyErr  bool
	}{
		{name: "start headless", steps: []step{{args: start, stdout: started}},
			op: func(d *Driver) error { return d.Start(ctx, vm) }},
		{name: "start reported as started despite exit 1", steps: []step{{args: start, stdout: started, exit: 1}},
			op: func(d *Driver) error { return d.Start(ctx, vm) }},
		{name: "start with an error block on exit 0 fails",
			steps: []step{{args: start, stdout: "Waiting for VM \"w1\" to power on...\n", stderr: sampleLines(t, "startvm-error-vtx-windows.txt", 1, 3)}},
			op:    func(d *Driver) error { return d.Start(ctx, vm) }, anyErr: true},
		{name: "start retries the session lock after a poweroff",
			steps: []step{
				{args: start, stderr: sample(t, "startvm-error-already-locked-linux.txt"), exit: 1},
				{args: info, stdout: infoOut("poweroff")},
				{args: start, stderr: lockedErr, exit: 1},
				{args: info, stdout: infoOut("poweroff")},
				{args: start, stdout: started},
			},
			op: func(d *Driver) error { return d.Start(ctx, vm) }},
		{name: "start gives up after the retry bound",
			steps: []step{
				{args: start, stderr: lockedErr, exit: 1}, {args: info, stdout: infoOut("poweroff")},
				{args: start, stderr: lockedErr, exit: 1}, {args: info, stdout: infoOut("poweroff")},
				{args: start, stderr: lockedErr, exit: 1}, {args: info, stdout: infoOut("poweroff")},
				{args: start, stderr: lockedErr, exit: 1},
			},
			op: func(d *Driver) error { return d.Start(ctx, vm) }, wantErr: ErrLocked},
		{name: "start of a running VM stops retrying at once",
			steps: []step{
				{args: start, stderr: sample(t, "startvm-error-already-locked-linux.txt"), exit: 1},
				{args: info, stdout: infoOut("running")},
			},
			op: func(d *Driver) error { return d.Start(ctx, vm) }, wantErr: ErrInvalidState},
		{name: "poweroff", steps: []step{{args: []string{"controlvm", vm, "poweroff"}, stderr: progress100}},
			op: func(d *Driver) error { return d.PowerOff(ctx, vm) }},
		{name: "poweroff of a stopped VM",
			steps: []step{{args: []string{"controlvm", vm, "poweroff"}, stderr: "VBoxManage: error: Machine 'w1' is not currently running.\n", exit: 1}},
			op:    func(d *Driver) error { return d.PowerOff(ctx, vm) }, wantErr: ErrInvalidState},
		{name: "savestate", steps: []step{{args: []string{"controlvm", vm, "savestate"}, stderr: sample(t, "controlvm-savestate-progress.txt")}},
			op: func(d *Driver) error { return d.SaveState(ctx, vm) }},
		{name: "pause and resume", steps: []step{{args: []string{"controlvm", vm, "pause"}}, {args: []string{"controlvm", vm, "resume"}}},
			op: func(d *Driver) error {
				if err := d.Pause(ctx, vm); err != nil {
					return err
				}
				return d.Resume(ctx, vm)
			}},
		{name: "acpi shutdown the guest honours",
			steps: []step{
				{args: []string{"controlvm", vm, "acpipowerbutton"}},
				{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("running")},
				{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("stopping")},
				{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("poweroff")},
			},
			op: func(d *Driver) error { return d.Shutdown(ctx, vm, time.Hour) }},
		{name: "acpi shutdown past its deadline powers off",
			steps: []step{
				{args: []string{"controlvm", vm, "acpipowerbutton"}},
				{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("running")},
				{args: []string{"controlvm", vm, "poweroff"}, stderr: progress100},
			},
			op: func(d *Driver) error { return d.Shutdown(ctx, vm, 0) }},
		{name: "acpi shutdown of a stopped VM does nothing",
			steps: []step{{args: []string{"controlvm", vm, "acpipowerbutton"}, stderr: sample(t, "controlvm-error-not-running-5.0.txt"), exit: 1}},
			op:    func(d *Driver) error { return d.Shutdown(ctx, vm, time.Hour) }},
		{name: "live snapshot, restore and delete",
			steps: []step{
				{args: []string{"snapshot", vm, "take", "ready", "--live"}, stdout: "Snapshot taken. UUID: " + uuidB + "\n", stderr: progress100},
				{args: []string{"snapshot", vm, "restore", uuidB}, stdout: "Restoring snapshot 'ready' (" + uuidB + ")\n", stderr: progress100},
				{args: []string{"snapshot", vm, "delete", uuidA}, stdout: "Deleting snapshot 'x' (" + uuidA + ")\n", stderr: progress100},
			},
			op: func(d *Driver) error {
				uuid, err := d.TakeSnapshot(ctx, vm, "ready", true)
				if err != nil {
					return err
				}
				if uuid != uuidB {
					t.Errorf("TakeSnapshot = %s, want %s", uuid, uuidB)
				}
				if err := d.RestoreSnapshot(ctx, vm, uuid); err != nil {
					return err
				}
				return d.DeleteSnapshot(ctx, vm, uuidA)
			}},
		{name: "restore on a running VM is an invalid state and not retried",
			steps: []step{{args: []string{"snapshot", vm, "restore", "ready"}, exit: 1,
				stderr: "VBoxManage: error: Cannot delete the current state of the running machine (machine state: Running)\nVBoxManage: error: Details: code VBOX_E_INVALID_VM_STATE (0x80bb0002), component SessionMachine, interface IMachine, callee nsISupports\n"}},
			op: func(d *Driver) error { return d.RestoreSnapshot(ctx, vm, "ready") }, wantErr: ErrInvalidState},
		{name: "snapshot delete with children fails unclassified",
			steps: []step{{args: []string{"snapshot", vm, "delete", "golden"}, stderr: sample(t, "snapshot-delete-failure-efail-windows.txt"), exit: 1}},
			op:    func(d *Driver) error { return d.DeleteSnapshot(ctx, vm, "golden") }, anyErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := transcriptDriver(t, tt.steps...)
			err := tt.op(d)
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case tt.anyErr && err == nil:
				t.Fatal("err = nil, want a failure")
			case tt.wantErr == nil && !tt.anyErr && err != nil:
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestGiveUpSaysHowOften(t *testing.T) {
	start := []string{"setextradata", vm, "fleet/phase", "ready"}
	d := transcriptDriver(t, step{args: start, stderr: lockedErr, exit: 1}, step{args: start, stderr: lockedErr, exit: 1},
		step{args: start, stderr: lockedErr, exit: 1}, step{args: start, stderr: lockedErr, exit: 1})
	err := d.SetExtraData(context.Background(), vm, "fleet/phase", "ready")
	if err == nil || !strings.Contains(err.Error(), "give up after 4 attempts") {
		t.Fatalf("SetExtraData = %v, want it to say it gave up after 4 attempts", err)
	}
}

func TestRetryBackoffStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := New(Config{RetryBase: time.Hour}, nil)
	calls := 0
	d.run = func(context.Context, []string, io.Writer) (result, error) {
		calls++
		cancel() // the caller gives up while the driver waits to retry
		return result{stderr: []byte(lockedErr), exitCode: 1}, nil
	}
	err := d.Modify(ctx, vm, ModifyOptions{Memory: 512})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("Modify = %v after %d calls, want context.Canceled after 1", err, calls)
	}
}

func TestSettingsOperations(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		steps   []step
		op      func(d *Driver) error
		wantErr error
	}{
		{name: "modify memory and cpus",
			steps: []step{{args: []string{"modifyvm", vm, "--memory", "1536", "--cpus", "2"}}},
			op:    func(d *Driver) error { return d.Modify(ctx, vm, ModifyOptions{Memory: 1536, CPUs: 2}) }},
		{name: "modify with nothing to change makes no call",
			op: func(d *Driver) error { return d.Modify(ctx, vm, ModifyOptions{}) }},
		{name: "modify a saved VM is not mutable",
			steps: []step{{args: []string{"modifyvm", vm, "--cpus", "2"}, stderr: sample(t, "modifyvm-error-not-mutable-saved.txt"), exit: 1}},
			op:    func(d *Driver) error { return d.Modify(ctx, vm, ModifyOptions{CPUs: 2}) }, wantErr: ErrInvalidState},
		{name: "set and delete extradata",
			steps: []step{{args: []string{"setextradata", vm, "fleet/phase", "ready"}}, {args: []string{"setextradata", vm, "fleet/phase"}}},
			op: func(d *Driver) error {
				if err := d.SetExtraData(ctx, vm, "fleet/phase", "ready"); err != nil {
					return err
				}
				return d.DeleteExtraData(ctx, vm, "fleet/phase")
			}},
		{name: "forward on a stopped VM uses modifyvm, bound to loopback",
			steps: []step{
				{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("poweroff")},
				{args: []string{"modifyvm", vm, "--natpf1", "ssh,tcp,127.0.0.1,2222,,22"}},
			},
			op: func(d *Driver) error {
				return d.AddForward(ctx, vm, Forward{Name: "ssh", HostPort: 2222, GuestPort: 22})
			}},
		{name: "forward on a running VM uses controlvm natpf",
			steps: []step{
				{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("running")},
				{args: []string{"controlvm", vm, "natpf1", "web,tcp,127.0.0.1,8080,,80"}},
			},
			op: func(d *Driver) error {
				return d.AddForward(ctx, vm, Forward{Name: "web", HostPort: 8080, GuestPort: 80})
			}},
		{name: "forward on another host address is refused without a call",
			op: func(d *Driver) error {
				err := d.AddForward(ctx, vm, Forward{Name: "ssh", HostIP: "0.0.0.0", HostPort: 2222, GuestPort: 22})
				if err == nil {
					t.Error("AddForward bound to 0.0.0.0")
				}
				return nil
			}},
		{name: "forward with an existing name",
			steps: []step{
				{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("poweroff")},
				{args: []string{"modifyvm", vm, "--natpf1", "ssh,tcp,127.0.0.1,2222,,22"}, stderr: sample(t, "modifyvm-natpf-rule-exists-windows-5.2.txt"), exit: 1},
			},
			op: func(d *Driver) error {
				return d.AddForward(ctx, vm, Forward{Name: "ssh", HostPort: 2222, GuestPort: 22})
			},
			wantErr: ErrAlreadyExists},
		{name: "delete a missing forward is not found",
			steps: []step{
				{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("poweroff")},
				{args: []string{"modifyvm", vm, "--natpf1", "delete", "ssh"}, stderr: sample(t, "modifyvm-natpf-delete-missing-5.0.txt"), exit: 1},
			},
			op: func(d *Driver) error { return d.DeleteForward(ctx, vm, 1, "ssh") }, wantErr: ErrNotFound},
		{name: "delete a forward of a running VM",
			steps: []step{
				{args: []string{"showvminfo", vm, "--machinereadable"}, stdout: infoOut("running")},
				{args: []string{"controlvm", vm, "natpf1", "delete", "ssh"}},
			},
			op: func(d *Driver) error { return d.DeleteForward(ctx, vm, 0, "ssh") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := transcriptDriver(t, tt.steps...)
			if err := tt.op(d); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestLockAfterPowerOffIsPolledNotBackedOff: the session lock VirtualBox keeps for a moment
// after a poweroff is tried again every lockPoll, without using up the call's retries (the
// transcript driver allows 3): six locked answers to the restore right after the poweroff
// still end in a restore, where backing off from RetryBase would have given up.
func TestLockAfterPowerOffIsPolledNotBackedOff(t *testing.T) {
	off := []string{"controlvm", vm, "poweroff"}
	restore := []string{"snapshot", vm, "restore", "ready"}
	steps := []step{{args: off, stderr: "0%...100%\n"}}
	for range 6 {
		steps = append(steps, step{args: restore, stderr: lockedErr, exit: 1})
	}
	steps = append(steps, step{args: restore, stderr: "Restoring snapshot 'ready' (...)\n0%...100%\n"})
	d := transcriptDriver(t, steps...)
	ctx := context.Background()
	if err := d.PowerOff(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if err := d.RestoreSnapshot(ctx, vm, "ready"); err != nil {
		t.Fatalf("RestoreSnapshot right after PowerOff = %v, want the lingering lock polled until it clears", err)
	}
}

// TestLockWithoutAStopStillBacksOff: a lock on a VM this driver did not just stop is not a
// lingering one: the retries are counted and backed off as before.
func TestLockWithoutAStopStillBacksOff(t *testing.T) {
	restore := []string{"snapshot", vm, "restore", "ready"}
	var steps []step
	for range 4 {
		steps = append(steps, step{args: restore, stderr: lockedErr, exit: 1})
	}
	d := transcriptDriver(t, steps...)
	err := d.RestoreSnapshot(context.Background(), vm, "ready")
	if err == nil || !strings.Contains(err.Error(), "give up after 4 attempts") {
		t.Fatalf("RestoreSnapshot = %v, want it to give up after 4 attempts", err)
	}
}
