package vboxsim_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
)

func vmState(t *testing.T, d *vbox.Driver, vm string) string {
	t.Helper()
	st, err := d.State(context.Background(), vm)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestFaultFailsTheNthCall(t *testing.T) {
	sim := fixture(t, "vm")
	sim.Inject(t, vboxsim.Fault{Op: "showvminfo", Nth: 2, Block: vboxsim.BlockObjectNotReady})
	var codes []int
	for range 3 {
		_, stderr, code := sim.Run(t, "showvminfo", "vm", "--machinereadable")
		codes = append(codes, code)
		if code != 0 {
			if err := vbox.Classify(nil, code, []byte(stderr)); !errors.Is(err, vbox.ErrTransient) {
				t.Errorf("injected failure classified as %v, want ErrTransient", err)
			}
		}
	}
	if codes[0] != 0 || codes[1] != 1 || codes[2] != 0 {
		t.Errorf("exit codes = %v, want [0 1 0]", codes)
	}
	sim.Inject(t, vboxsim.Fault{ID: "again", Op: "showvminfo", Times: 2, Block: vboxsim.BlockObjectNotReady})
	if _, err := newDriver(t, sim).Info(context.Background(), "vm"); err != nil {
		t.Errorf("driver did not retry through two transient failures: %v", err)
	}
}

func TestFaultCustomStderrAndExit(t *testing.T) {
	sim := fixture(t, "vm")
	sim.Inject(t, vboxsim.Fault{Op: "list", Stderr: "VBoxManage: error: boom\n", Exit: 2})
	_, stderr, code := sim.Run(t, "list", "vms")
	if code != 2 || stderr != "VBoxManage: error: boom\n" {
		t.Errorf("got exit %d %q", code, stderr)
	}
}

func TestFaultBootNeverBringsSSHUp(t *testing.T) {
	sim := fixture(t, "vm")
	sim.Inject(t, vboxsim.Fault{Op: "startvm", Kind: vboxsim.FaultNoSSH})
	mustRun(t, sim, "startvm", "vm")
	if st := vmState(t, newDriver(t, sim), "vm"); st != "running" {
		t.Fatalf("state = %s, want running", st)
	}
	info, err := newDriver(t, sim).Info(context.Background(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(info.Forwards[0].HostPort)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("SSH port answers although the boot fault is injected")
	}
}

func TestFaultVMAborts(t *testing.T) {
	sim := fixture(t, "vm")
	sim.Inject(t, vboxsim.Fault{Op: "startvm", Kind: vboxsim.FaultAbort, After: vboxsim.Duration(50 * time.Millisecond)})
	mustRun(t, sim, "startvm", "vm")
	d := newDriver(t, sim)
	waitFor(t, "the VM to abort", func() bool { return vmState(t, d, "vm") == "aborted" })
	mustRun(t, sim, "startvm", "vm") // aborted starts like poweroff
	if st := vmState(t, d, "vm"); st != "running" {
		t.Errorf("state after restarting an aborted VM = %s", st)
	}
}

func TestFaultCloneDiesHalfWay(t *testing.T) {
	sim := fixture(t, "golden")
	mustRun(t, sim, "snapshot", "golden", "take", "golden")
	sim.Inject(t, vboxsim.Fault{Op: "clonevm", Kind: vboxsim.FaultCloneDies})
	_, stderr, code := sim.Run(t, "clonevm", "golden", "--snapshot", "golden", "--options", "link", "--name", "w1", "--register")
	if code != 1 || !strings.Contains(stderr, "Progress state: VBOX_E_IPRT_ERROR") {
		t.Fatalf("clone: exit %d %q", code, stderr)
	}
	refs, err := newDriver(t, sim).List(context.Background())
	if err != nil || len(refs) != 2 || refs[1].Name != "w1" {
		t.Fatalf("list after a dead clone = %+v, %v; want the broken clone registered", refs, err)
	}
	_, stderr, code = sim.Run(t, "startvm", "w1")
	if code != 1 || !strings.Contains(stderr, "VBOX_E_FILE_ERROR") {
		t.Errorf("starting the broken clone: exit %d %q", code, stderr)
	}
	if err := newDriver(t, sim).Unregister(context.Background(), "w1"); err != nil {
		t.Errorf("removing the broken clone: %v", err)
	}
}

func TestLockLingersAfterPoweroff(t *testing.T) {
	sim := fixture(t, "vm")
	sim.Inject(t, vboxsim.Fault{Op: "controlvm_poweroff", Kind: vboxsim.FaultLockLinger, After: vboxsim.Duration(300 * time.Millisecond)})
	mustRun(t, sim, "startvm", "vm")
	mustRun(t, sim, "controlvm", "vm", "poweroff")
	_, stderr, code := sim.Run(t, "unregistervm", "vm", "--delete")
	if !strings.Contains(stderr, "Cannot unregister the machine 'vm' while it is locked") || code != 1 {
		t.Fatalf("unregister right after poweroff: exit %d %q", code, stderr)
	}
	if err := newDriver(t, sim).Unregister(context.Background(), "vm"); err != nil {
		t.Errorf("driver did not retry through the lingering lock: %v", err)
	}
}

func TestStateMachineRefusals(t *testing.T) {
	tests := []struct {
		name   string
		setup  [][]string
		args   []string
		code   int
		stderr string
		state  string
	}{
		{"pause running", [][]string{{"startvm", "vm"}}, []string{"controlvm", "vm", "pause"}, 0, "", "paused"},
		{"resume paused", [][]string{{"startvm", "vm"}, {"controlvm", "vm", "pause"}}, []string{"controlvm", "vm", "resume"}, 0, "", "running"},
		{"startvm paused", [][]string{{"startvm", "vm"}, {"controlvm", "vm", "pause"}}, []string{"startvm", "vm"}, 1, "already locked by a session", "paused"},
		{"restore running", [][]string{{"snapshot", "vm", "take", "s"}, {"startvm", "vm"}}, []string{"snapshot", "vm", "restore", "s"}, 1, "Cannot delete the current state of the running machine (machine state: Running)", "running"},
		{"restore offline snapshot", [][]string{{"snapshot", "vm", "take", "s"}}, []string{"snapshot", "vm", "restore", "s"}, 0, "", "poweroff"},
		{"restore unknown", nil, []string{"snapshot", "vm", "restore", "nope"}, 1, "Could not find a snapshot named 'nope'", "poweroff"},
		{"restorecurrent none", nil, []string{"snapshot", "vm", "restorecurrent"}, 1, "", "poweroff"},
		{"savestate", [][]string{{"startvm", "vm"}}, []string{"controlvm", "vm", "savestate"}, 0, "", "saved"},
		{"start saved", [][]string{{"startvm", "vm"}, {"controlvm", "vm", "savestate"}}, []string{"startvm", "vm"}, 0, "", "running"},
		{"unregister running", [][]string{{"startvm", "vm"}}, []string{"unregistervm", "vm"}, 1, "while it is locked", "running"},
		{"controlvm saved", [][]string{{"startvm", "vm"}, {"controlvm", "vm", "savestate"}}, []string{"controlvm", "vm", "poweroff"}, 1, "Machine 'vm' is not currently running.", "saved"},
		{"guestproperty saved", [][]string{{"startvm", "vm"}, {"controlvm", "vm", "savestate"}}, []string{"guestproperty", "set", "vm", "/a", "b"}, 1, "not mutable (state is Saved)", "saved"},
		{"natpf running via controlvm", [][]string{{"startvm", "vm"}}, []string{"controlvm", "vm", "natpf1", "web,tcp,,8080,,80"}, 0, "", "running"},
		{"modifyvm unknown option exits 1 as errorGetOpt then E_FAIL does", nil, []string{"modifyvm", "vm", "--bogus", "1"}, 1, "Unknown option: --bogus", "poweroff"},
		{"syntax error exits 2", nil, []string{"modifyvm"}, 2, "Not enough parameters", "poweroff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := fixture(t, "vm")
			for _, s := range tt.setup {
				mustRun(t, sim, s...)
			}
			_, stderr, code := sim.Run(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d %q, want %d containing %q", code, stderr, tt.code, tt.stderr)
			}
			if st := vmState(t, newDriver(t, sim), "vm"); st != tt.state {
				t.Errorf("state = %s, want %s", st, tt.state)
			}
		})
	}
}

func TestACPIPowerButtonPowersOff(t *testing.T) {
	sim := fixture(t, "vm")
	mustRun(t, sim, "startvm", "vm")
	out, stderr, code := sim.Run(t, "controlvm", "vm", "acpipowerbutton")
	if out != "" || stderr != "" || code != 0 {
		t.Fatalf("acpipowerbutton printed %q %q exit %d", out, stderr, code)
	}
	d := newDriver(t, sim)
	waitFor(t, "the guest to power off", func() bool { return vmState(t, d, "vm") == "poweroff" })
}

func TestStateSurvivesAcrossProcessesAndPersistsExtraData(t *testing.T) {
	sim := fixture(t, "vm")
	d := newDriver(t, sim)
	ctx := context.Background()
	if err := d.SetExtraData(ctx, "vm", "fleet/owner", "build-01"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := d.GetExtraData(ctx, "vm", "fleet/owner"); err != nil || !ok || v != "build-01" {
		t.Errorf("extradata = %q %v %v", v, ok, err)
	}
	if err := d.DeleteExtraData(ctx, "vm", "fleet/owner"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := d.GetExtraData(ctx, "vm", "fleet/owner"); ok {
		t.Error("deleted extradata is still set")
	}
}
