package main

import (
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/fleet-agent/fleet/queue"
)

// TestE2ESimulatorPoolWithHostServicesRunsJobs: a VirtualBox pool (on the simulator) whose
// network block opens a host service runs its jobs: the agent asks the guest's sshd for the
// remote forward of each listed service at the job's start, and the simulated guest accepts
// it, so the job passes instead of failing as an infrastructure error.
func TestE2ESimulatorPoolWithHostServicesRunsJobs(t *testing.T) {
	h := newHost(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := h.render(fleetCfg{vms: 1})
	cfg = strings.Replace(cfg, "  rollout {", "  network { host_services = [\""+ln.Addr().String()+"\"] }\n  rollout {", 1)
	if !strings.Contains(cfg, "host_services") {
		t.Fatalf("no place for the network block in:\n%s", cfg)
	}
	h.writeRaw(cfg)
	h.start()
	h.submit("hs-1")
	h.release("hs-1")
	if st := h.waitJob("hs-1", queue.StatePassed); st.State != queue.StatePassed {
		t.Fatalf("job = %+v, want passed", st)
	}
	h.signal(syscall.SIGTERM)
	if code := h.waitExit(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}
