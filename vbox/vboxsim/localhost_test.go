package vboxsim_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

// localhostShown returns what showvminfo prints for NIC 1's localhost setting: "0", "1", or
// "" when it prints nothing.
func localhostShown(t *testing.T, sim *simtest.Sim, vm string) string {
	t.Helper()
	info, err := vbox.ParseVMInfo([]byte(mustRun(t, sim, "showvminfo", vm, "--machinereadable")))
	if err != nil {
		t.Fatal(err)
	}
	return info.LocalhostSetting(1)
}

func TestLocalhostReachableFlagFollowsTheSimulatedVersion(t *testing.T) {
	tests := []struct {
		name    string
		version string
		setup   [][]string // after importing box VM "vm"
		args    []string
		code    int
		stderr  string // suffix of stderr
		shown   string // localhostReachable of "vm" afterwards
	}{
		{name: "7.0 shows an imported box as reachable", version: "7.0.14r161095",
			args: []string{"showvminfo", "vm", "--machinereadable"}, shown: "1"},
		{name: "7.0 closes it with off", version: "7.0.14r161095",
			args: []string{"modifyvm", "vm", "--nat-localhostreachable1", "off"}, shown: "0"},
		{name: "7.0 accepts the = form and the old alias", version: "7.1.4r165100",
			setup: [][]string{{"modifyvm", "vm", "--nat-localhostreachable1=off"}},
			args:  []string{"modifyvm", "vm", "--natlocalhostreachable1", "on"}, shown: "1"},
		{name: "7.0 clone keeps its source's setting", version: "7.0.14r161095",
			setup: [][]string{{"modifyvm", "vm", "--nat-localhostreachable1", "off"}, {"clonevm", "vm", "--name", "c", "--register"}},
			args:  []string{"modifyvm", "c", "--memory", "256"}, shown: "0"},
		{name: "7.0 refuses a value that is not on or off", version: "7.0.14r161095",
			args: []string{"modifyvm", "vm", "--nat-localhostreachable1", "no"}, code: 1, stderr: "", shown: "1"},
		{name: "6.1 refuses the flag as an unknown option with exit 1", version: "6.1.50r161033",
			args: []string{"modifyvm", "vm", "--memory", "256", "--nat-localhostreachable1", "off"}, code: 1,
			stderr: "\nVBoxManage: error: Unknown option: --nat-localhostreachable1\n", shown: ""},
		{name: "5.2 refuses the alias the same way", version: "5.2.4r119785",
			args: []string{"modifyvm", "vm", "--natlocalhostreachable1", "off"}, code: 1,
			stderr: "VBoxManage: error: Unknown option: --natlocalhostreachable1\n", shown: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := simtest.New(t)
			sim.SetVersion(tt.version)
			mustRun(t, sim, "import", sim.MakeBox(t, vboxsim.BoxOptions{}), "--vsys", "0", "--vmname", "vm")
			for _, s := range tt.setup {
				mustRun(t, sim, s...)
			}
			_, stderr, code := sim.Run(t, tt.args...)
			if code != tt.code || !strings.HasSuffix(stderr, tt.stderr) {
				t.Fatalf("%v: exit %d, stderr %q; want exit %d ending %q", tt.args, code, stderr, tt.code, tt.stderr)
			}
			vm := "vm"
			if len(tt.setup) > 1 {
				vm = "c"
			}
			if got := localhostShown(t, sim, vm); got != tt.shown {
				t.Errorf("localhostReachable of %s = %q, want %q", vm, got, tt.shown)
			}
		})
	}
}

func TestLocalhostReachableRefusalOn61IsAUsageErrorThatChangesNothing(t *testing.T) {
	sim := simtest.New(t)
	sim.SetVersion("6.1.50r161033")
	mustRun(t, sim, "import", sim.MakeBox(t, vboxsim.BoxOptions{}), "--vsys", "0", "--vmname", "vm")
	d := newDriver(t, sim)
	ctx := context.Background()
	v, err := d.Version(ctx)
	if err != nil || v.AtLeast(7, 0) || v.String() != "6.1.50" {
		t.Fatalf("version = %v, %v", v, err)
	}
	err = d.Modify(ctx, "vm", vbox.ModifyOptions{Memory: 256, LocalhostReachable: map[int]bool{1: false}})
	if !errors.Is(err, vbox.ErrUsage) {
		t.Fatalf("modify with the 7.0 flag on 6.1 = %v, want ErrUsage", err)
	}
	info, err := d.Info(ctx, "vm")
	if err != nil {
		t.Fatal(err)
	}
	if info.Memory == 256 {
		t.Errorf("memory changed by a refused modifyvm")
	}
}

func TestCreateVMOn70StartsClosedAndOn61Open(t *testing.T) {
	for _, tt := range []struct{ version, shown string }{{"7.0.14r161095", "0"}, {"6.1.50r161033", ""}} {
		sim := simtest.New(t)
		sim.SetVersion(tt.version)
		mustRun(t, sim, "createvm", "--name", "fresh", "--register")
		if got := localhostShown(t, sim, "fresh"); got != tt.shown {
			t.Errorf("%s: new VM localhostReachable = %q, want %q", tt.version, got, tt.shown)
		}
	}
}
