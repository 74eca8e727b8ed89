package main

// End-to-end on real VMs: the agent binary drives QEMU (TCG here) through apply, the daemon,
// jobs, repair, drain, restart and scale-down. One test with ordered steps, because every step
// builds on the VMs of the one before and a golden costs a boot.

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/queue"
)

// TestE2EQEMUPool: `agent apply` builds a real golden (booted, chef-provisioned over SSH, saved)
// and two workers resumed from it; `agent run` adopts them without a rebuild and runs jobs
// that clone the repository in the guest; three jobs in a row on two VMs each find no file of
// an earlier job (so at least one VM was rolled back under a later job); a worker whose qemu
// is killed with SIGKILL is repaired by the daemon and serves again; `agent drain --wait`
// returns once the running job ends and fetches nothing; a restarted agent keeps the same
// qemu processes; scaling to 0 leaves no worker folder or process.
func TestE2EQEMUPool(t *testing.T) {
	h := newQHost(t)
	workers := []string{"q-1", "q-2"}
	h.write(2)

	code, out := h.cli("apply", "--auto-approve", "-c", h.fleet)
	if code != 0 {
		t.Fatalf("apply exit %d:\n%s", code, out)
	}
	for _, want := range []string{"build golden", "create worker q-1", "create worker q-2"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q:\n%s", want, out)
		}
	}
	applied := map[string]vmProc{}
	for _, w := range workers {
		p := h.procOf(w)
		if !p.alive() {
			t.Fatalf("%s: qemu pid %d not running after apply exited", w, p.PID)
		}
		applied[w] = p
	}

	h.start()
	h.until("q-1 and q-2 serving", 2*time.Minute, func(st *control.Status) bool {
		return slices.Equal(servingVMs(st), workers)
	})
	for _, w := range workers {
		if p := h.procOf(w); p != applied[w] {
			t.Errorf("%s: process %+v after the agent started, want the applied one %+v (adopted, not rebuilt)", w, p, applied[w])
		}
	}

	t.Run("jobs find no file of an earlier job", func(t *testing.T) {
		for _, id := range []string{"s-1", "s-2", "s-3"} {
			h.submit(id, false)
			if st := h.waitJob(id, 2*time.Minute); st.State != queue.StatePassed {
				t.Fatalf("job %s = %s (exit %d, %s), want passed", id, st.State, st.ExitCode, st.Error)
			}
		}
	})

	t.Run("a worker killed with SIGKILL is repaired", func(t *testing.T) {
		h.until("both idle and serving", time.Minute, func(st *control.Status) bool {
			return st.Running() == 0 && slices.Equal(servingVMs(st), workers)
		})
		killed := h.procOf("q-2")
		syscall.Kill(killed.PID, syscall.SIGKILL)
		h.until("q-2 repaired and serving", 2*time.Minute, func(st *control.Status) bool {
			p := h.procOf("q-2")
			return slices.Equal(servingVMs(st), workers) && p.PID != killed.PID && p.alive()
		})
		h.submit("r-1", false)
		if st := h.waitJob("r-1", 2*time.Minute); st.State != queue.StatePassed {
			t.Fatalf("job r-1 after the repair = %s (exit %d, %s), want passed", st.State, st.ExitCode, st.Error)
		}
	})

	t.Run("drain waits for the running job and fetches nothing", func(t *testing.T) {
		h.submit("d-1", true)
		h.until("d-1 running", time.Minute, func(st *control.Status) bool { return runningOn(st, "d-1") != "" })
		drained := make(chan string, 1)
		go func() {
			_, out := h.cli("drain", "--wait", "-c", h.fleet)
			drained <- out
		}()
		h.until("draining", time.Minute, func(st *control.Status) bool { return st.Draining })
		h.submit("d-2", false)
		select {
		case out := <-drained:
			t.Fatalf("drain --wait returned with d-1 still running: %s", out)
		default:
		}
		h.release("d-1")
		if st := h.waitJob("d-1", time.Minute); st.State != queue.StatePassed {
			t.Errorf("d-1 = %s (%s), want passed", st.State, st.Error)
		}
		select {
		case <-drained:
		case <-time.After(time.Minute):
			t.Fatal("drain --wait did not return within a minute of the last job's end")
		}
		if st, _ := h.tq.JobStatus(t.Context(), "d-2"); st.State != queue.StateQueued {
			t.Errorf("d-2 = %s while drained, want queued", st.State)
		}
		if code, out := h.cli("resume", "-c", h.fleet); code != 0 {
			t.Fatalf("resume exit %d: %s", code, out)
		}
		if st := h.waitJob("d-2", 2*time.Minute); st.State != queue.StatePassed {
			t.Errorf("d-2 after resume = %s (%s), want passed", st.State, st.Error)
		}
	})

	t.Run("a restarted agent keeps the running VMs", func(t *testing.T) {
		before := map[string]vmProc{}
		for _, w := range workers {
			before[w] = h.procOf(w)
		}
		if code := h.stop(); code != 0 {
			t.Fatalf("agent exit %d after SIGTERM, want 0", code)
		}
		for _, w := range workers {
			if !before[w].alive() {
				t.Errorf("%s: qemu died with the agent", w)
			}
		}
		h.start()
		h.until("serving after restart", 2*time.Minute, func(st *control.Status) bool {
			return slices.Equal(servingVMs(st), workers)
		})
		for _, w := range workers {
			if p := h.procOf(w); p != before[w] {
				t.Errorf("%s: process %+v after restart, want %+v", w, p, before[w])
			}
		}
	})

	t.Run("scale to zero leaves no worker folder or process", func(t *testing.T) {
		procs := map[string]vmProc{}
		for _, w := range workers {
			procs[w] = h.procOf(w)
		}
		h.write(0)
		h.until("no workers", 2*time.Minute, func(st *control.Status) bool {
			for _, v := range st.VMs {
				if v.Role == "worker" {
					return false
				}
			}
			return true
		})
		for _, w := range workers {
			if procs[w].alive() {
				t.Errorf("%s: qemu pid %d still runs", w, procs[w].PID)
			}
		}
		if f := h.vmFolders(); slices.ContainsFunc(f, func(n string) bool { return strings.HasPrefix(n, "q-") }) {
			t.Errorf("worker folders left in state_dir/qemu: %v", f)
		}
		if code := h.stop(); code != 0 {
			t.Errorf("agent exit %d after SIGTERM, want 0", code)
		}
	})
}

// TestE2EQEMUKillAnywhereApply: `agent apply` killed with SIGKILL while the golden boots, and
// again while a worker's qemu runs in phase creating, is followed by an apply that converges
// with exactly the VMs asked for: no process and no folder of a killed action is left, and
// scaling to 0 stops every worker process.
func TestE2EQEMUKillAnywhereApply(t *testing.T) {
	h := newQHost(t)
	h.write(2)
	h.applyKilledWhen("golden booting", func() bool { return h.running("fleet-golden-") })
	h.applyKilledWhen("worker q-2 launched", func() bool { return h.running("q-2/") })

	if code, out := h.cli("apply", "--auto-approve", "-c", h.fleet); code != 0 {
		t.Fatalf("apply after the kills: exit %d\n%s", code, out)
	}
	want := map[int]string{}
	for _, w := range []string{"q-1", "q-2"} {
		p := h.procOf(w)
		if !p.alive() {
			t.Fatalf("%s not running after apply", w)
		}
		want[p.PID] = w
	}
	if got := h.qemuProcs(); len(got) != len(want) {
		t.Errorf("qemu processes after converging: %v, want only the workers' %v", got, want)
	} else {
		for pid := range got {
			if want[pid] == "" {
				t.Errorf("qemu pid %d (%s) belongs to no worker: leaked", pid, got[pid])
			}
		}
	}
	folders := h.vmFolders()
	if len(folders) != 4 || !slices.Contains(folders, "q-1") || !slices.Contains(folders, "q-2") {
		t.Errorf("VM folders %v, want the box, one golden, q-1 and q-2", folders)
	}

	h.write(0)
	if code, out := h.cli("apply", "--auto-approve", "-c", h.fleet); code != 0 {
		t.Fatalf("apply vms=0: exit %d\n%s", code, out)
	}
	if got := h.qemuProcs(); len(got) != 0 {
		t.Errorf("qemu processes after scaling to 0: %v", got)
	}
}
