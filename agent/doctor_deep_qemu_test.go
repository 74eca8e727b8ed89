package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// deepQEMUProcs lists the live processes whose command line names the deep check's QEMU
// folder (qemu, and any helper it starts).
func deepQEMUProcs(stateDir string) map[int]string {
	return procsNaming(filepath.Join(stateDir, deepDirName, "qemu") + "/")
}

// TestDoctorDeepQEMUPassesEndToEndAndLeavesNothing: on real QEMU, every step of the QEMU deep
// check holds (import, golden, overlay clone, ready snapshot, SSH, a command, a file, power
// off, restore, the file gone, delete), each is in the one table, the exit code is 0, and no
// qemu process, overlay or folder of the check is left; the fleet's own QEMU folder is never
// created.
func TestDoctorDeepQEMUPassesEndToEndAndLeavesNothing(t *testing.T) {
	h := newQHost(t)
	h.write(1)
	t.Cleanup(func() { killQEMUVMs(filepath.Join(h.stateDir, deepDirName, "qemu")) })
	code, stdout, stderr := runCLI(t, "doctor", "--deep", "-c", h.fleet)
	t.Log(stdout)
	if code != exitOK {
		t.Fatalf("exit = %d, want 0\n%s%s", code, stdout, stderr)
	}
	for i, s := range deepQEMUStepNames {
		if !strings.Contains(stdout, fmt.Sprintf("ok    deep qemu %2d/%d %-15s", i+1, len(deepQEMUStepNames), s)) {
			t.Errorf("no ok line for step %q", s)
		}
		if !strings.Contains(stdout, fmt.Sprintf("  qemu        %-15s", s)) {
			t.Errorf("table lacks step %q", s)
		}
	}
	if left := deepQEMUProcs(h.stateDir); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, deepDirName)); !os.IsNotExist(err) {
		t.Errorf("%s still exists (%v)", deepDirName, err)
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, "qemu")); !os.IsNotExist(err) {
		t.Errorf("the deep check created the fleet's QEMU folder (%v)", err)
	}
}

// TestDoctorDeepQEMUWithABadBoxFailsNamingTheStepAndLeavesNothing: a --qemu-box without a
// disk fails at "make box", skips the rest, still runs "delete", exits non-zero and leaves
// no folder.
func TestDoctorDeepQEMUWithABadBoxFailsNamingTheStepAndLeavesNothing(t *testing.T) {
	h := newQHost(t)
	h.write(1)
	code, stdout, _ := runCLI(t, "doctor", "--deep", "--qemu-box", t.TempDir(), "-c", h.fleet)
	if code == exitOK {
		t.Fatalf("exit 0 with a box that has no disk:\n%s", stdout)
	}
	for _, want := range []string{"FAIL  deep qemu  2/14 make box", "--qemu-box", "  qemu        import                  0s  skipped",
		fmt.Sprintf("ok    deep qemu %2d/%d delete", len(deepQEMUStepNames), len(deepQEMUStepNames))} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, deepDirName)); !os.IsNotExist(err) {
		t.Errorf("%s still exists (%v)", deepDirName, err)
	}
}

// TestDoctorDeepQEMUKilledThenRerunLeavesNothing: a deep check SIGKILLed once its worker runs
// leaves qemu processes and overlays behind; the next run's first step stops and removes them
// (the box, the golden and the worker), the rerun passes, and nothing of either run is left.
func TestDoctorDeepQEMUKilledThenRerunLeavesNothing(t *testing.T) {
	h := newQHost(t)
	h.write(1)
	t.Cleanup(func() { killQEMUVMs(filepath.Join(h.stateDir, deepDirName, "qemu")) })
	cmd := exec.Command(h.bin, "doctor", "--deep", "-c", h.fleet)
	out, seen := startUntil(t, cmd, "deep qemu  7/14 reach ssh")
	if !strings.Contains(seen.String(), "ok    deep qemu  7/14 reach ssh") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the check did not reach its worker's SSH:\n%s", seen.String())
	}
	cmd.Process.Kill()
	io.Copy(io.Discard, out)
	cmd.Wait()
	if len(deepQEMUProcs(h.stateDir)) == 0 {
		t.Fatalf("no qemu process left by the killed run: the rerun would prove nothing")
	}
	code, stdout, _ := runCLI(t, "doctor", "--deep", "-c", h.fleet)
	if code != exitOK || !strings.Contains(stdout, "ok    deep qemu  1/14 clean leftovers") ||
		!strings.Contains(stdout, "removed 3 VM(s) an earlier run left") {
		t.Errorf("rerun after SIGKILL: exit = %d, want 0 after removing the box, golden and worker:\n%s", code, stdout)
	}
	if left := deepQEMUProcs(h.stateDir); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, deepDirName)); !os.IsNotExist(err) {
		t.Errorf("%s still exists (%v)", deepDirName, err)
	}
}
