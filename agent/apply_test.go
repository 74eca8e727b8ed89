package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/vbox"
)

// TestApplyThenPlanHasNoChanges checks apply converges and a plan afterwards exits 0 with
// --detailed-exitcode.
func TestApplyThenPlanHasNoChanges(t *testing.T) {
	h := newSimHost(t)
	path := h.writeFleet(t, 2, 2)
	code, stdout, stderr := runCLI(t, "apply", "--auto-approve", "-c", path)
	if code != exitOK {
		t.Fatalf("apply exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"create worker ruby-1: done", "build golden", "Apply complete"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("apply output lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, stderr = runCLI(t, "plan", "--detailed-exitcode", "-c", path)
	if code != exitOK || !strings.Contains(stdout, "No changes.") {
		t.Errorf("plan after apply: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestApplyConfirmation checks apply asks and only "yes" proceeds.
func TestApplyConfirmation(t *testing.T) {
	h := newSimHost(t)
	path := h.writeFleet(t, 1, 2)
	defer func(r any) { applyStdin = os.Stdin }(nil)
	applyStdin = strings.NewReader("no\n")
	code, stdout, _ := runCLI(t, "apply", "-c", path)
	if code != exitError || !strings.Contains(stdout, "Apply cancelled.") {
		t.Errorf("answer no: exit %d\n%s", code, stdout)
	}
	if out, _, _ := h.sim.Run(t, "list", "vms"); out != "" {
		t.Errorf("VMs after a cancelled apply:\n%s", out)
	}
}

var agentBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "agent-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "agent")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/fleet-agent/fleet/agent").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build agent: %w\n%s", err, out)
	}
	return bin, nil
})

// killWrapper is the VBoxManage the kill test gives the agent: it counts calls and, at call
// KILL_AT, SIGKILLs the agent (its parent) instead of running the call.
const killWrapper = `#!/bin/sh
n=$(( $(cat "$KILL_COUNTER" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$KILL_COUNTER"
if [ "$n" = "$KILL_AT" ]; then
  kill -9 "$PPID"
  exit 137
fi
exec "$VBOXSIM_BIN" "$@"
`

// TestKillAnywhere kills `agent apply` (0 -> 2 workers) before each of its VBoxManage calls in
// turn, runs apply again, and checks the host is exactly right: two ready workers, one golden,
// one box, no leaked VM or disk. -short tries every fourth call.
func TestKillAnywhere(t *testing.T) {
	if _, err := agentBin(); err != nil {
		t.Fatal(err)
	}
	// Count the calls of an uninterrupted apply (one at a time, so the count is a step counter).
	total := func() int {
		h := newKillHost(t)
		if out, err := h.apply(t, 0); err != nil {
			t.Fatalf("uninterrupted apply: %v\n%s", err, out)
		}
		return h.calls(t)
	}()
	if total < 10 {
		t.Fatalf("only %d VBoxManage calls in a 0 -> 2 apply", total)
	}
	step := 1
	if testing.Short() {
		step = 4
	}
	for k := 1; k <= total; k += step {
		t.Run("kill at call "+strconv.Itoa(k), func(t *testing.T) {
			h := newKillHost(t)
			out, err := h.apply(t, k)
			var ee *exec.ExitError
			if err == nil || !errors.As(err, &ee) {
				t.Fatalf("apply killed at %d: %v\n%s", k, err, out)
			}
			if out, err := h.apply(t, 0); err != nil {
				t.Fatalf("apply after kill at %d: %v\n%s", k, err, out)
			}
			h.checkExact(t)
		})
	}
}

type killHost struct {
	*simHost
	path, counter string
}

func newKillHost(t *testing.T) *killHost {
	h := &killHost{simHost: newSimHost(t)}
	wrapper := filepath.Join(h.dir, "vboxmanage-wrapper")
	if err := os.WriteFile(wrapper, []byte(killWrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	h.manage = wrapper
	h.counter = filepath.Join(h.dir, "calls")
	// In-process plans through the wrapper count into a file of their own and are never killed.
	t.Setenv("VBOXSIM_BIN", h.sim.Bin)
	t.Setenv("KILL_COUNTER", filepath.Join(h.dir, "calls-in-process"))
	t.Setenv("KILL_AT", "0")
	h.path = h.writeFleet(t, 2, 1)
	return h
}

// apply runs the agent binary's apply, killed at call killAt (0: never).
func (h *killHost) apply(t *testing.T, killAt int) (string, error) {
	bin, _ := agentBin()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	os.Remove(h.counter)
	cmd := exec.CommandContext(ctx, bin, "apply", "--auto-approve", "-c", h.path, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "KILL_COUNTER="+h.counter, "KILL_AT="+strconv.Itoa(killAt), "VBOXSIM_BIN="+h.sim.Bin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (h *killHost) calls(t *testing.T) int {
	b, err := os.ReadFile(h.counter)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// checkExact checks the simulator holds exactly the box, one golden and ruby-1, ruby-2, each
// once, and a machine folder for nothing else.
func (h *killHost) checkExact(t *testing.T) {
	t.Helper()
	out, _, _ := h.sim.Run(t, "list", "vms")
	refs, err := vbox.ParseList([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	goldens := 0
	for _, r := range refs {
		if strings.HasPrefix(r.Name, "fleet-golden-ruby-") {
			goldens++
			continue
		}
		names = append(names, r.Name)
	}
	slices.Sort(names)
	if goldens != 1 || !slices.Equal(names, []string{"fleet-box-lucid32-2.0.0", "ruby-1", "ruby-2"}) {
		t.Errorf("VMs = %v with %d goldens; want the box, one golden, ruby-1 and ruby-2", names, goldens)
	}
	entries, _ := os.ReadDir(filepath.Join(h.sim.Home, "machines"))
	if len(entries) != len(refs) {
		var dirs []string
		for _, e := range entries {
			dirs = append(dirs, e.Name())
		}
		t.Errorf("machine folders %v for %d VMs: leaked disks", dirs, len(refs))
	}
	code, stdout, stderr := runCLI(t, "plan", "--detailed-exitcode", "-c", h.path)
	if code != exitOK {
		t.Errorf("plan after recovery: exit %d\n%s%s", code, stdout, stderr)
	}
}
