package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/queue"
)

// TestE2EScaleUpWhileAJobRuns: saving fleet.hcl with vms 1 -> 3 while a job runs brings two
// more workers; the running job is not disturbed.
func TestE2EScaleUpWhileAJobRuns(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 1})
	h.start()
	h.until("ruby-1 serving", func(st *control.Status) bool { return slices.Equal(servingVMs(st), []string{"ruby-1"}) })
	h.submit("scale-1")
	h.until("job running", func(st *control.Status) bool { return runningOn(st, "scale-1") == "ruby-1" })
	h.write(fleetCfg{vms: 3})
	st := h.until("three workers", func(st *control.Status) bool { return len(servingVMs(st)) == 3 })
	if on := runningOn(st, "scale-1"); on != "ruby-1" {
		t.Fatalf("scale-1 runs on %q after the scale-up, want ruby-1", on)
	}
	h.release("scale-1")
	js := h.waitJob("scale-1", queue.StatePassed)
	if js.Attempt != 1 {
		t.Errorf("scale-1 attempt = %d, want 1 (never interrupted)", js.Attempt)
	}
	h.signal(syscall.SIGTERM)
	if code := h.waitExit(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

// TestE2EBrokenEditIsRejected: a broken fleet.hcl changes nothing and status shows it with its
// diagnostic; the fixed file applies.
func TestE2EBrokenEditIsRejected(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 1})
	h.start()
	h.until("ruby-1 serving", func(st *control.Status) bool { return slices.Equal(servingVMs(st), []string{"ruby-1"}) })
	broken := strings.Replace(h.render(fleetCfg{vms: 2}), "vms    = 2", "vms    = \"two\"", 1)
	h.writeRaw(broken)
	st := h.until("rejected edit", func(st *control.Status) bool { return st.Rejected != nil })
	if d := st.Rejected.Diagnostics; !strings.Contains(d, h.fleet) || !strings.Contains(d, "vms") {
		t.Errorf("diagnostics do not name the file and attribute:\n%s", d)
	}
	code, out := h.cli("status", "-c", h.fleet)
	if code != 0 || !strings.Contains(out, "Rejected edit") || !strings.Contains(out, "Incorrect attribute value type") {
		t.Errorf("agent status on the broken file: exit %d\n%s", code, out)
	}
	if names := servingVMs(st); !slices.Equal(names, []string{"ruby-1"}) {
		t.Errorf("serving %v after a rejected edit, want ruby-1", names)
	}
	h.write(fleetCfg{vms: 2})
	st = h.until("fixed edit applied", func(st *control.Status) bool { return len(servingVMs(st)) == 2 })
	if st.Rejected != nil {
		t.Errorf("rejected edit still shown: %+v", st.Rejected)
	}
}

// TestE2EDrainWaitAndResume: `agent drain --wait` with two jobs running fetches nothing new and
// returns once both finish; a restarted agent stays drained; `agent resume` lets jobs flow.
func TestE2EDrainWaitAndResume(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 2})
	h.start()
	h.until("two workers", func(st *control.Status) bool { return len(servingVMs(st)) == 2 })
	h.submit("d-1")
	h.submit("d-2")
	h.until("both running", func(st *control.Status) bool { return st.Running() == 2 })

	drain := make(chan string, 1)
	go func() {
		code, out := h.cli("drain", "--wait", "-c", h.fleet)
		if code != 0 {
			out = "exit " + string(rune('0'+code)) + ": " + out
		}
		drain <- out
	}()
	h.until("drained", func(st *control.Status) bool { return st.Draining })
	h.submit("d-3")
	h.release("d-1")
	h.waitJob("d-1", queue.StatePassed)
	select {
	case out := <-drain:
		t.Fatalf("drain --wait returned with d-2 still running: %s", out)
	default:
	}
	h.release("d-2")
	out := <-drain
	if !strings.Contains(out, "Waiting for") || !strings.Contains(out, "Drained e2e-host: no job running.") {
		t.Errorf("drain --wait output:\n%s", out)
	}
	if st := h.job("d-3"); st.State != queue.StateQueued {
		t.Fatalf("d-3 = %s while drained, want queued", st.State)
	}

	h.signal(syscall.SIGTERM)
	h.waitExit()
	h.start()
	st := h.until("workers back, drained", func(st *control.Status) bool {
		v := vmNamed(st, "ruby-2")
		return st.Draining && v != nil && v.Worker != "" && vmNamed(st, "ruby-1").Worker != ""
	})
	if len(servingVMs(st)) != 0 {
		t.Errorf("serving %v after a restart while drained", servingVMs(st))
	}
	if st := h.job("d-3"); st.State != queue.StateQueued {
		t.Fatalf("d-3 = %s after restart while drained, want queued", st.State)
	}
	if code, out := h.cli("resume", "-c", h.fleet); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, out)
	}
	h.until("d-3 running", func(st *control.Status) bool { return runningOn(st, "d-3") != "" })
	h.release("d-3")
	h.waitJob("d-3", queue.StatePassed)
}

// TestE2EKilledAgentRequeuesAndRollsBack: SIGKILL mid-job; the next agent requeues the job
// (attempt 2), runs it to the end, rolls the VM back, and leaks no VM.
func TestE2EKilledAgentRequeuesAndRollsBack(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 1})
	h.start()
	h.until("ruby-1 serving", func(st *control.Status) bool { return slices.Equal(servingVMs(st), []string{"ruby-1"}) })
	before := h.vmNames()
	h.submit("k-1")
	h.until("job running", func(st *control.Status) bool { return runningOn(st, "k-1") == "ruby-1" })
	dirty := filepath.Join(h.sim.Home, "machines", "ruby-1", "disk", "home", "vagrant", "dirty-k-1")
	waitFile(t, dirty)
	h.signal(syscall.SIGKILL)
	h.waitExit()

	h.start()
	h.until("k-1 running again", func(st *control.Status) bool { return runningOn(st, "k-1") == "ruby-1" })
	h.release("k-1")
	js := h.waitJob("k-1", queue.StatePassed)
	if js.Attempt != 2 {
		t.Errorf("k-1 attempt = %d, want 2", js.Attempt)
	}
	h.until("idle", func(st *control.Status) bool { return st.Running() == 0 && len(servingVMs(st)) == 1 })
	if b, _ := os.ReadFile(h.logPath); !strings.Contains(string(b), "vm_reset") {
		t.Errorf("the new agent did not reset ruby-1 before its first job (no vm_reset in %s)", h.logPath)
	}
	if _, err := os.Stat(dirty); !os.IsNotExist(err) {
		t.Errorf("%s survived the job: the VM was not rolled back (%v)", dirty, err)
	}
	if after := h.vmNames(); !slices.Equal(after, before) {
		t.Errorf("VMs after = %v, before = %v: a VM leaked or vanished", after, before)
	}
}

// TestE2EControlSocketRefusesOtherUsers: a user other than the agent's cannot use the socket.
func TestE2EControlSocketRefusesOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the CLI as another user")
	}
	h := newHost(t)
	h.write(fleetCfg{vms: 0})
	h.start()
	h.until("agent up", func(st *control.Status) bool { return st.Reconcile.Passes > 0 })
	sock := filepath.Join(h.stateDir, control.SocketName)
	st, err := os.Stat(sock)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode = %v, %v; want 0600", st.Mode(), err)
	}
	// Open the folders on the way so that only the socket's own mode stands in the way.
	for d := filepath.Dir(sock); d != "/"; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			os.Chmod(d, fi.Mode().Perm()|0o011)
		}
	}
	cmd := exec.Command(h.bin, "status", "--socket", sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("status as nobody: err %v, output %q; want permission denied", err, out)
	}
	if code, out := h.cli("status", "--socket", sock); code != 0 || !strings.Contains(out, "Host e2e-host") {
		t.Errorf("status as the owner: exit %d\n%s", code, out)
	}
}

// TestE2ERecipesChangeRollsWorkers: new recipes while jobs are queued replace the workers one
// at a time, each after its job; no job is lost or run twice, and at most max_unavailable (1)
// of the three workers is out of service at any moment.
func TestE2ERecipesChangeRollsWorkers(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 3})
	h.start()
	st := h.until("three workers", func(st *control.Status) bool { return len(servingVMs(st)) == 3 })
	oldImage := vmNamed(st, "ruby-1").Image
	var ids []string
	for i := range 6 {
		id := "r-" + string(rune('a'+i))
		ids = append(ids, id)
		h.submit(id)
	}
	h.until("three running", func(st *control.Status) bool { return st.Running() == 3 })

	var mu sync.Mutex
	worst, samples := 0, 0
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			if st, err := h.status(); err == nil {
				mu.Lock()
				worst = max(worst, 3-len(servingVMs(st)))
				samples++
				mu.Unlock()
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	h.write(fleetCfg{vms: 3, recipes: []string{"git", "rvm::multi"}})
	released := map[string]bool{}
	st = h.until("all jobs released and workers replaced", func(st *control.Status) bool {
		for _, v := range st.VMs {
			if v.Job != nil && !released[v.Job.ID] {
				released[v.Job.ID] = true
				h.release(v.Job.ID)
			}
		}
		if len(released) < len(ids) || st.Running() > 0 || len(servingVMs(st)) != 3 {
			return false
		}
		for _, v := range st.VMs {
			if v.Role == "worker" && v.Image == oldImage {
				return false
			}
		}
		return true
	})
	close(stopWatch)
	<-watched
	for _, id := range ids {
		js := h.waitJob(id, queue.StatePassed)
		if js.Attempt != 1 {
			t.Errorf("%s attempt = %d, want 1 (run once)", id, js.Attempt)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if worst > 1 {
		t.Errorf("%d of 3 workers out of service at once (over %d samples), want at most max_unavailable = 1", worst, samples)
	}
	t.Logf("rollout: worst %d out of service over %d samples", worst, samples)
}

// TestE2ESecondAgentIsRefused: a second `agent run` on the same state_dir exits 1 at once
// instead of waiting for the first one's apply lock.
func TestE2ESecondAgentIsRefused(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 0})
	h.start()
	h.until("agent up", func(st *control.Status) bool { return st.Reconcile.Passes > 0 })
	code, out := h.cli("run", "-c", h.fleet)
	if code != exitError || !strings.Contains(out, "another agent is running") {
		t.Errorf("second agent: exit %d\n%s", code, out)
	}
	h.signal(syscall.SIGINT)
	if code := h.waitExit(); code != 0 {
		t.Errorf("exit after SIGINT = %d, want 0", code)
	}
}
