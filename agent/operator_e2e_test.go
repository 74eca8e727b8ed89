package main

// End-to-end tests of the operator controls of single workers, through the real binary with
// the simulator and a real redis-server: drain/resume one worker, replace a worker, a golden
// and a box (daemon and apply), restart --force, and refused targets.

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/queue"
)

// vmIDs maps the simulator's VM names to their UUIDs.
func (h *host) vmIDs() map[string]string {
	h.t.Helper()
	out, _, _ := h.sim.Run(h.t, "list", "vms")
	ids := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		i, j := strings.IndexByte(l, '"'), strings.LastIndexByte(l, '"')
		k, m := strings.IndexByte(l, '{'), strings.IndexByte(l, '}')
		if i >= 0 && j > i && k > j && m > k {
			ids[l[i+1:j]] = l[k+1 : m]
		}
	}
	return ids
}

// sortedServing lists the workers that fetch, sorted by name.
func sortedServing(st *control.Status) []string {
	names := servingVMs(st)
	slices.Sort(names)
	return names
}

// releaseRunning releases every job st shows running that was not released yet, recording on
// which VM each ran.
func (h *host) releaseRunning(st *control.Status, ranOn map[string]string) {
	for _, v := range st.VMs {
		if v.Job != nil {
			if _, seen := ranOn[v.Job.ID]; !seen {
				ranOn[v.Job.ID] = v.Name
				h.release(v.Job.ID)
			}
		}
	}
}

// TestE2EDrainOneWorker: `agent drain ruby-2` while jobs flow lets ruby-2 finish its job and
// take no more while ruby-1 and ruby-3 keep taking jobs; the drain survives an agent restart;
// `agent resume ruby-2` puts it back in service.
func TestE2EDrainOneWorker(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 3})
	h.start()
	h.until("three workers", func(st *control.Status) bool { return len(servingVMs(st)) == 3 })
	for i := 1; i <= 3; i++ {
		h.submit(fmt.Sprintf("c-%d", i))
	}
	st := h.until("three running", func(st *control.Status) bool { return st.Running() == 3 })
	first := map[string]string{} // job -> VM, for the jobs running before the drain
	for _, v := range st.VMs {
		if v.Job != nil {
			first[v.Job.ID] = v.Name
		}
	}
	code, out := h.cli("drain", "ruby-2", "-c", h.fleet)
	if code != 0 || !strings.Contains(out, "Draining ruby-2: 1 job running") {
		t.Fatalf("agent drain ruby-2: exit %d\n%s", code, out)
	}
	for i := 4; i <= 9; i++ {
		h.submit(fmt.Sprintf("c-%d", i))
	}
	ranOn := map[string]string{}
	st = h.until("all nine jobs ran, ruby-2 idle and drained", func(st *control.Status) bool {
		h.releaseRunning(st, ranOn)
		v := vmNamed(st, "ruby-2")
		// ruby-1 and ruby-3 keep serving (waiting for it also covers a worker that reconcile
		// repaired meanwhile); ruby-2 never serves again.
		return len(ranOn) == 9 && st.Running() == 0 && v.Drained && v.Job == nil &&
			slices.Equal(sortedServing(st), []string{"ruby-1", "ruby-3"})
	})
	for id, vm := range ranOn {
		if vm == "ruby-2" && first[id] != "ruby-2" {
			t.Errorf("job %s ran on drained ruby-2", id)
		}
	}
	for i := 1; i <= 9; i++ {
		if js := h.waitJob(fmt.Sprintf("c-%d", i), queue.StatePassed); js.Attempt != 1 {
			t.Errorf("c-%d attempt = %d, want 1", i, js.Attempt)
		}
	}
	code, out = h.cli("status", "-c", h.fleet)
	if code != 0 || !strings.Contains(out, "drained by operator") || !strings.Contains(out, "State: serving") {
		t.Errorf("agent status with ruby-2 drained: exit %d\n%s", code, out)
	}

	h.signal(syscall.SIGTERM)
	h.waitExit()
	h.start()
	st = h.until("workers back after restart", func(st *control.Status) bool {
		return slices.Equal(sortedServing(st), []string{"ruby-1", "ruby-3"}) && vmNamed(st, "ruby-2").Worker != ""
	})
	if !vmNamed(st, "ruby-2").Drained {
		t.Errorf("ruby-2 not drained after an agent restart: %+v", vmNamed(st, "ruby-2"))
	}
	if code, out := h.cli("resume", "ruby-2", "-c", h.fleet); code != 0 || !strings.Contains(out, "Resumed ruby-2") {
		t.Fatalf("agent resume ruby-2: exit %d\n%s", code, out)
	}
	h.until("three serving after resume", func(st *control.Status) bool { return len(servingVMs(st)) == 3 })
}

// TestE2EReplaceThroughTheAgent: `agent replace` of a worker, the pool's golden and the box,
// each while jobs run, converges with every job run once; `agent plan -replace` shows the
// plan beside the running agent, and `agent apply -replace` refuses to cut jobs short.
func TestE2EReplaceThroughTheAgent(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 3})
	h.start()
	h.until("three workers", func(st *control.Status) bool { return len(servingVMs(st)) == 3 })

	code, out := h.cli("plan", "-replace=golden.ruby", "-c", h.fleet)
	if code != 0 || !strings.Contains(out, "-/+ replace worker") || !strings.Contains(out, "replacement requested") ||
		!strings.Contains(out, "-r2") {
		t.Errorf("agent plan -replace=golden.ruby: exit %d\n%s", code, out)
	}
	code, out = h.cli("apply", "-replace=ruby-1", "--auto-approve", "-c", h.fleet)
	if code != exitError || !strings.Contains(out, "agent replace TARGET") {
		t.Errorf("agent apply -replace with the agent running: exit %d\n%s", code, out)
	}

	ranOn := map[string]string{}
	var jobs []string
	for step, target := range []string{"ruby-2", "golden.ruby", "box.lucid32"} {
		before := h.vmIDs()
		for i := 1; i <= 5; i++ {
			id := fmt.Sprintf("x%d-%d", step, i)
			jobs = append(jobs, id)
			h.submit(id)
		}
		h.until("three running", func(st *control.Status) bool { return st.Running() == 3 })
		code, out := h.cli("replace", target, "-c", h.fleet)
		if code != 0 || !strings.Contains(out, "Replacement of "+target+" requested") {
			t.Fatalf("agent replace %s: exit %d\n%s", target, code, out)
		}
		h.until(target+" replaced, jobs done", func(st *control.Status) bool {
			h.releaseRunning(st, ranOn)
			return len(st.Replacing) == 0 && len(ranOn) == len(jobs) && st.Running() == 0 && len(servingVMs(st)) == 3
		})
		after := h.vmIDs()
		var changed []string
		for name, id := range before {
			if after[name] != id {
				changed = append(changed, name)
			}
		}
		slices.Sort(changed)
		var want []string
		switch target {
		case "ruby-2":
			want = []string{"ruby-2"}
		default:
			want = []string{"ruby-1", "ruby-2", "ruby-3"}
			for name := range before {
				if strings.HasPrefix(name, "fleet-golden-") || (target == "box.lucid32" && strings.HasPrefix(name, "fleet-box-")) {
					want = append(want, name)
				}
			}
			slices.Sort(want)
		}
		if !slices.Equal(changed, want) {
			t.Errorf("replace %s: VMs recreated or removed = %v, want %v (VMs now %v)", target, changed, want,
				slices.Sorted(maps.Keys(after)))
		}
	}
	for _, id := range jobs {
		if js := h.waitJob(id, queue.StatePassed); js.Attempt != 1 {
			t.Errorf("%s attempt = %d, want 1 (no job lost or run twice)", id, js.Attempt)
		}
	}
	goldens := 0
	for name := range h.vmIDs() {
		if strings.HasPrefix(name, "fleet-golden-") {
			goldens++
			if !strings.HasSuffix(name, "-r3") {
				t.Errorf("golden %s after two rebuilds, want generation 3", name)
			}
		}
	}
	if goldens != 1 {
		t.Errorf("%d goldens after the replacements, want 1", goldens)
	}
}

// TestE2EApplyReplace: without a running agent, `agent apply -replace` rebuilds a worker and a
// box (with its golden), and the host then plans no change.
func TestE2EApplyReplace(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 1})
	if code, out := h.cli("apply", "--auto-approve", "-c", h.fleet); code != 0 {
		t.Fatalf("first apply: exit %d\n%s", code, out)
	}
	for _, tt := range []struct {
		target string
		want   []string // what the apply prints
	}{
		{"ruby-1", []string{"-/+ replace worker ruby-1  replacement requested", "replacement requested", "replace worker ruby-1: done"}},
		{"box.lucid32", []string{"-/+ replace box", "replace box fleet-box-lucid32-2.0.0: done",
			"build golden fleet-golden-ruby-", "collect golden", "replace worker ruby-1: done"}},
	} {
		before := h.vmIDs()
		code, out := h.cli("apply", "-replace="+tt.target, "--auto-approve", "-c", h.fleet)
		if code != 0 {
			t.Fatalf("apply -replace=%s: exit %d\n%s", tt.target, code, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("apply -replace=%s output lacks %q:\n%s", tt.target, w, out)
			}
		}
		if after := h.vmIDs(); after["ruby-1"] == before["ruby-1"] || after["ruby-1"] == "" {
			t.Errorf("apply -replace=%s: ruby-1 not recreated (%v -> %v)", tt.target, before, after)
		}
		if code, out := h.cli("plan", "--detailed-exitcode", "-c", h.fleet); code != 0 {
			t.Errorf("plan after apply -replace=%s: exit %d\n%s", tt.target, code, out)
		}
	}
}

// TestE2ERestartForceRequeuesOnce: `agent restart ruby-1 --force` mid-job cancels the job,
// which is requeued once and passes on its second attempt in the rolled-back VM.
func TestE2ERestartForceRequeuesOnce(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 1})
	h.start()
	h.until("ruby-1 serving", func(st *control.Status) bool { return slices.Equal(servingVMs(st), []string{"ruby-1"}) })
	h.submit("rs-1")
	h.until("rs-1 running", func(st *control.Status) bool { return runningOn(st, "rs-1") == "ruby-1" })
	if code, out := h.cli("restart", "ruby-1", "--force", "-c", h.fleet); code != 0 || !strings.Contains(out, "Restarting ruby-1 now") {
		t.Fatalf("agent restart --force: exit %d\n%s", code, out)
	}
	h.until("rs-1 running again", func(st *control.Status) bool {
		v := vmNamed(st, "ruby-1")
		return v.Job != nil && v.Job.ID == "rs-1" && v.Job.Attempt == 2
	})
	h.release("rs-1")
	if js := h.waitJob("rs-1", queue.StatePassed); js.Attempt != 2 {
		t.Errorf("rs-1 attempt = %d, want 2 (requeued once)", js.Attempt)
	}
	h.submit("rs-2")
	h.until("rs-2 running", func(st *control.Status) bool { return runningOn(st, "rs-2") == "ruby-1" })
	if code, out := h.cli("restart", "ruby-1", "-c", h.fleet); code != 0 || !strings.Contains(out, "Restarting ruby-1 (after job rs-2)") {
		t.Fatalf("agent restart without --force: exit %d\n%s", code, out)
	}
	h.release("rs-2")
	if js := h.waitJob("rs-2", queue.StatePassed); js.Attempt != 1 {
		t.Errorf("rs-2 attempt = %d, want 1 (a plain restart waits for the job)", js.Attempt)
	}
	h.until("ruby-1 restarted and serving", func(st *control.Status) bool {
		v := vmNamed(st, "ruby-1")
		return !v.Restart && v.Serving
	})
	b, _ := os.ReadFile(h.logPath)
	if n := strings.Count(string(b), "vm_restarted"); n != 2 {
		t.Errorf("vm_restarted logged %d times, want 2", n)
	}
}

// TestE2EOperatorTargetsRefused: every operator command answers an unknown target with the
// valid ones and refuses a VM another agent (or nobody) owns, changing nothing.
func TestE2EOperatorTargetsRefused(t *testing.T) {
	h := newHost(t)
	h.write(fleetCfg{vms: 2})
	h.sim.Run(t, "createvm", "--name", "ruby-9", "--register")
	h.sim.Run(t, "setextradata", "ruby-9", "fleet/owner", "build-02")
	h.sim.Run(t, "createvm", "--name", "hand-made", "--register")
	h.start()
	h.until("two workers", func(st *control.Status) bool { return len(servingVMs(st)) == 2 })
	before := h.vmIDs()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"drain unknown", []string{"drain", "ruby-7"}, "ruby-7: unknown target; valid targets: ruby-1, ruby-2"},
		{"drain foreign", []string{"drain", "ruby-9"}, `ruby-9: VM not owned by this agent (it belongs to "build-02"); refusing`},
		{"resume unknown", []string{"resume", "ruby-7"}, "ruby-7: unknown target; valid targets: ruby-1, ruby-2"},
		{"restart unowned", []string{"restart", "hand-made"}, "hand-made: VM not owned by this agent (nobody manages it)"},
		{"restart unknown", []string{"restart", "ruby-1", "ruby-7"}, "ruby-7: unknown target"},
		{"replace unknown", []string{"replace", "golden.python"},
			"golden.python: unknown target; valid targets: ruby-1, ruby-2, golden.ruby, box.lucid32"},
		{"replace foreign", []string{"replace", "ruby-9"}, "ruby-9: VM not owned by this agent"},
		{"plan -replace unknown", []string{"plan", "-replace=box.precise64"},
			"box.precise64: unknown target; valid targets: ruby-1, ruby-2, golden.ruby, box.lucid32"},
		{"plan -replace foreign", []string{"plan", "-replace=hand-made"}, "hand-made: VM not owned by this agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := h.cli(append(tt.args, "-c", h.fleet)...)
			if code != exitError || !strings.Contains(out, tt.want) {
				t.Errorf("agent %s: exit %d, want %d with %q\n%s", strings.Join(tt.args, " "), code, exitError, tt.want, out)
			}
		})
	}
	st := h.until("status", func(*control.Status) bool { return true })
	for _, v := range st.VMs {
		if v.Drained || v.Restart {
			t.Errorf("%s changed by a refused command: %+v", v.Name, v)
		}
	}
	if len(st.Replacing) > 0 || len(servingVMs(st)) != 2 {
		t.Errorf("after refused commands: replacing %v, serving %v", st.Replacing, servingVMs(st))
	}
	if after := h.vmIDs(); !maps.Equal(before, after) {
		t.Errorf("VMs changed by refused commands: %v -> %v", before, after)
	}
}
