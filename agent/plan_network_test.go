package main

import (
	"os"
	"strings"
	"testing"
)

// TestPlanShowsNetworkPolicyChangeAsWorkerReplacement applies a pool on the simulator, then
// adds a network block: agent plan shows each worker's replacement with the old and new
// policy as its reason, and keeps the golden image.
func TestPlanShowsNetworkPolicyChangeAsWorkerReplacement(t *testing.T) {
	h := newSimHost(t)
	path := h.writeFleet(t, 1, 2)
	if code, stdout, stderr := runCLI(t, "apply", "--auto-approve", "-c", path); code != exitOK {
		t.Fatalf("apply exit %d\n%s%s", code, stdout, stderr)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(old), "  memory = 256\n", "  memory = 256\n  network { host_services = [\"127.0.0.1:3142\"] }\n", 1)
	writeFile(t, h.dir, "fleet.hcl", src)
	code, stdout, stderr := runCLI(t, "plan", "--detailed-exitcode", "-c", path)
	if code != exitChanges {
		t.Fatalf("plan exit %d, want %d (changes)\n%s%s", code, exitChanges, stdout, stderr)
	}
	want := "network policy changed: egress=isolated -> egress=isolated host_services=127.0.0.1:3142"
	if !strings.Contains(stdout, "ruby-1") || !strings.Contains(stdout, want) {
		t.Errorf("plan does not replace ruby-1 with reason %q:\n%s", want, stdout)
	}
	if strings.Contains(stdout, "build_golden") || strings.Contains(stdout, "build golden") {
		t.Errorf("a network change rebuilds the golden image:\n%s", stdout)
	}
}
