package vboxsim_test

import (
	"os"
	"os/exec"
	"testing"
)

// BenchmarkShowVMInfo measures one simulator process answering showvminfo
// with the default (empty) latency profile: the floor every test above the
// driver pays per call.
func BenchmarkShowVMInfo(b *testing.B) {
	sim := fixtureB(b)
	for b.Loop() {
		cmd := exec.Command(sim.Bin, "showvminfo", "vm", "--machinereadable")
		cmd.Env = append(os.Environ(), sim.Env()...)
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartPoweroff measures a full startvm (guest spawned, SSH up)
// plus poweroff (guest and its processes killed).
func BenchmarkStartPoweroff(b *testing.B) {
	sim := fixtureB(b)
	for b.Loop() {
		for _, args := range [][]string{{"startvm", "vm"}, {"controlvm", "vm", "poweroff"}} {
			cmd := exec.Command(sim.Bin, args...)
			cmd.Env = append(os.Environ(), sim.Env()...)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %v\n%s", args, err, out)
			}
		}
	}
}
