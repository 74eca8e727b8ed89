package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

// deepHost is a simulated host ready for `agent doctor --deep`.
type deepHost struct {
	sim      *simtest.Sim
	conf     string
	stateDir string
}

func newDeepHost(t *testing.T) deepHost {
	t.Helper()
	sim := simtest.New(t)
	t.Setenv("VBOXSIM_HOME", sim.Home)
	srv := redistest.Start(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	conf := writeFile(t, dir, "fleet.hcl", fmt.Sprintf(`host {
  name      = "deephost"
  state_dir = %q
}
virtualbox { manage = %q }
queue { redis = %q }
box "lucid32" {
  version = "1"
  url     = "file:lucid32.box"
}
pool "ruby" {
  box    = "lucid32"
  vms    = 1
  memory = 128
}
`, state, sim.Bin, srv.URL))
	return deepHost{sim: sim, conf: conf, stateDir: state}
}

// doctorVMs lists the VMs whose names are the deep check's.
func (h deepHost) doctorVMs(t *testing.T) []string {
	t.Helper()
	out, _, code := h.sim.Run(t, "list", "vms")
	if code != 0 {
		t.Fatalf("list vms: exit %d", code)
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "\""+deepPrefix) {
			names = append(names, l)
		}
	}
	return names
}

// TestDoctorDeepPassesEndToEnd: on a healthy simulated host every step of the deep check holds,
// each is printed with its time and in the table, the exit code is 0, and no VM, running guest
// or state file of the check is left.
func TestDoctorDeepPassesEndToEnd(t *testing.T) {
	h := newDeepHost(t)
	rec := filepath.Join(t.TempDir(), "rec")
	code, stdout, stderr := runCLI(t, "doctor", "--deep", "--record", rec, "-c", h.conf)
	t.Log(stdout)
	if code != exitOK {
		t.Fatalf("exit = %d, want 0\n%s%s", code, stdout, stderr)
	}
	for i, s := range deepStepNames {
		if !strings.Contains(stdout, fmt.Sprintf("ok    deep virtualbox %2d/%d %-15s", i+1, len(deepStepNames), s)) {
			t.Errorf("no ok line for step %q:\n%s", s, stdout)
		}
		if !strings.Contains(stdout, fmt.Sprintf("  virtualbox  %-15s", s)) {
			t.Errorf("table lacks step %q", s)
		}
	}
	if left := h.doctorVMs(t); len(left) > 0 {
		t.Errorf("VMs left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, deepDirName)); !os.IsNotExist(err) {
		t.Errorf("%s still exists (%v)", deepDirName, err)
	}
	files, _ := filepath.Glob(filepath.Join(rec, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("transcripts = %v, want one file holding the usual checks' and the deep check's calls", files)
	}
	var b []byte
	for _, f := range files { // the usual checks' calls and the deep check's
		fb, _ := os.ReadFile(f)
		b = append(b, fb...)
	}
	for _, call := range []string{`"import"`, `"clonevm"`, `"startvm"`, `"unregistervm"`} {
		if !strings.Contains(string(b), call) {
			t.Errorf("transcript lacks %s", call)
		}
	}
}

// boxWith makes a box accepting Vagrant's insecure key whose guest has the given programs
// (name -> /bin/sh script) ahead of the host's on PATH.
func (h deepHost) boxWith(t *testing.T, bins map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for name, script := range bins {
		paths = append(paths, writeFile(t, dir, name, "#!/bin/sh\n"+script+"\n"))
		if err := os.Chmod(paths[len(paths)-1], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	keys := ssh.MarshalAuthorizedKey(guest.VagrantInsecureSigner().PublicKey())
	return h.sim.MakeBox(t, vboxsim.BoxOptions{AuthorizedKeys: keys, Bins: paths})
}

// TestDoctorDeepFaultAtEachStep: a fault injected at any of the 16 steps (a simulator fault, a
// missing --box, or a guest program replaced) fails the check with that step named, the later
// steps are skipped, and delete still removes every VM the check made; when delete itself
// fails, the next run removes what it left.
func TestDoctorDeepFaultAtEachStep(t *testing.T) {
	vmErr := func(op string, nth int) []vboxsim.Fault {
		return []vboxsim.Fault{{Op: op, Nth: nth, Times: 1, Block: vboxsim.BlockVMError}}
	}
	cases := []struct {
		step   string
		faults []vboxsim.Fault
		args   []string
		// bins replace guest programs (name -> shell script) in a box passed with --box.
		bins map[string]string
		// rerun: the failed step leaves VMs behind, which the next run removes.
		rerun bool
	}{
		{"clean leftovers", vmErr("list", 1), nil, nil, false},
		{"make box", nil, []string{"--box", "/nonexistent/box.ovf"}, nil, false},
		{"import", vmErr("import", 1), nil, nil, false},
		{"snapshot box", vmErr("snapshot_take", 1), nil, nil, false},
		{"linked clone", vmErr("clonevm", 1), nil, nil, false},
		{"ready snapshot", vmErr("snapshot_take", 2), nil, nil, false},
		{"ssh forward", vmErr("modifyvm", 1), nil, nil, false},
		{"start headless", vmErr("startvm", 1), nil, nil, false},
		{"reach ssh", []vboxsim.Fault{{Op: "startvm", Nth: 1, Kind: vboxsim.FaultNoSSH}}, []string{"--boot-timeout", "1s"}, nil, false},
		{"power off", vmErr("controlvm_poweroff", 1), nil, nil, false},
		{"restore ready", vmErr("snapshot_restore", 1), nil, nil, false},
		{"start again", vmErr("startvm", 2), nil, nil, false},
		{"run command", nil, nil, map[string]string{"uname": "echo broken >&2; exit 3"}, false},
		{"write file", nil, nil, map[string]string{"cat": "exit 0"}, false},
		{"file gone", nil, nil, map[string]string{"ls": "echo . .. " + deepProbe}, false},
		{"delete", vmErr("unregistervm", 1), nil, nil, true},
	}
	for _, c := range cases {
		t.Run(c.step, func(t *testing.T) {
			h := newDeepHost(t)
			if c.faults != nil {
				h.sim.Inject(t, c.faults...)
			}
			args := append([]string{"doctor", "--deep", "-c", h.conf}, c.args...)
			if c.bins != nil {
				args = append(args, "--box", h.boxWith(t, c.bins))
			}
			code, stdout, stderr := runCLI(t, args...)
			t.Log(stdout)
			if code != exitError {
				t.Errorf("exit = %d, want %d\n%s%s", code, exitError, stdout, stderr)
			}
			if !strings.Contains(stdout, "FAIL  deep virtualbox") || !strings.Contains(stdout, " "+c.step+" ") {
				t.Errorf("no FAIL line naming %q:\n%s", c.step, stdout)
			}
			if !strings.Contains(stdout, fmt.Sprintf("  virtualbox  %-15s  ", c.step)) || !strings.Contains(stdout, "FAIL\n") {
				t.Errorf("table does not fail %q:\n%s", c.step, stdout)
			}
			if c.rerun {
				code, stdout, _ = runCLI(t, "doctor", "--deep", "-c", h.conf)
				if code != exitOK || !strings.Contains(stdout, "removed 2 VM(s) an earlier run left") {
					t.Errorf("rerun: exit = %d, want 0 after removing the 2 VMs left:\n%s", code, stdout)
				}
			} else if !strings.Contains(stdout, fmt.Sprintf("ok    deep virtualbox %2d/%d delete", len(deepStepNames), len(deepStepNames))) {
				t.Errorf("delete did not run cleanly:\n%s", stdout)
			}
			if left := h.doctorVMs(t); len(left) > 0 {
				t.Errorf("VMs left: %v\n%s", left, stdout)
			}
		})
	}
}

// TestDoctorDeepCleansWhatAKilledRunLeft: VMs a killed run left (one marked with the
// fleet/doctor extradata, one only named in the intent file because the run died between
// import and marking) are removed by the next run; a VM of someone else with a similar name
// is not touched.
func TestDoctorDeepCleansWhatAKilledRunLeft(t *testing.T) {
	h := newDeepHost(t)
	ovf := h.sim.MakeBox(t, vboxsim.BoxOptions{})
	for _, n := range []string{deepPrefix + "old-box", deepPrefix + "dead-box", deepPrefix + "other-box"} {
		if _, stderr, code := h.sim.Run(t, "import", ovf, "--vsys", "0", "--vmname", n); code != 0 {
			t.Fatalf("import %s: %s", n, stderr)
		}
	}
	h.sim.Run(t, "setextradata", deepPrefix+"old-box", keyDoctor, "deephost")
	h.sim.Run(t, "setextradata", deepPrefix+"other-box", keyDoctor, "otherhost")
	if _, _, code := h.sim.Run(t, "startvm", deepPrefix+"old-box", "--type", "headless"); code != 0 {
		t.Fatal("startvm old-box failed")
	}
	writeFile(t, filepath.Join(h.stateDir, deepDirName), deepIntent, deepPrefix+"dead-box\n"+deepPrefix+"dead-clone\n")

	code, stdout, stderr := runCLI(t, "doctor", "--deep", "-c", h.conf)
	if code != exitOK {
		t.Fatalf("exit = %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "removed 2 VM(s) an earlier run left") {
		t.Errorf("clean leftovers did not remove the two leftovers:\n%s", stdout)
	}
	left := h.doctorVMs(t)
	if len(left) != 1 || !strings.Contains(left[0], "other-box") {
		t.Errorf("VMs left = %v, want only the other host's", left)
	}
}

// TestDoctorDeepRefusesWhileAgentServes: with an agent answering on state_dir's control socket
// the deep check refuses and creates nothing; --force runs it anyway.
func TestDoctorDeepRefusesWhileAgentServes(t *testing.T) {
	h := newDeepHost(t)
	if err := os.MkdirAll(h.stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := control.Listen(filepath.Join(h.stateDir, control.SocketName), servingHandler{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	code, stdout, _ := runCLI(t, "doctor", "--deep", "-c", h.conf)
	if code != exitError || !strings.Contains(stdout, "'agent run' serves on this host") || !strings.Contains(stdout, "--force") {
		t.Errorf("exit = %d, want a refusal naming --force:\n%s", code, stdout)
	}
	if strings.Contains(stdout, "deep virtualbox") {
		t.Errorf("a step ran despite the refusal:\n%s", stdout)
	}
	code, stdout, _ = runCLI(t, "doctor", "--deep", "--force", "-c", h.conf)
	if code != exitOK || !strings.Contains(stdout, "ok    deep virtualbox 16/16 delete") {
		t.Errorf("--force: exit = %d\n%s", code, stdout)
	}
}

// servingHandler answers the control socket like an idle agent.
type servingHandler struct{}

func (servingHandler) Status() control.Status           { return control.Status{PID: 4242} }
func (servingHandler) Drain(control.DrainRequest) error { return nil }
func (servingHandler) Resume() error                    { return nil }
func (servingHandler) Changed() <-chan struct{}         { return make(chan struct{}) }

// TestDoctorDeepInterrupted: a deep check stopped while its VM boots leaves nothing behind
// after SIGINT (it deletes its VMs before exiting), and after SIGKILL the next run removes
// what the killed one left.
func TestDoctorDeepInterrupted(t *testing.T) {
	bin := agentBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			h := newDeepHost(t)
			// The second boot never serves SSH, so the check waits in "start again".
			h.sim.Inject(t, vboxsim.Fault{Op: "startvm", Nth: 2, Kind: vboxsim.FaultNoSSH})
			cmd := exec.Command(bin, "doctor", "--deep", "--boot-timeout", "10m", "-c", h.conf)
			out, seen := startUntil(t, cmd, "restore ready")
			if len(h.doctorVMs(t)) != 2 {
				t.Fatalf("VMs before the signal = %v, want the box and the clone\n%s", h.doctorVMs(t), seen.String())
			}
			cmd.Process.Signal(sig)
			rest, _ := io.ReadAll(out)
			seen.Write(rest)
			cmd.Wait()
			if sig == syscall.SIGINT {
				if !strings.Contains(seen.String(), "ok    deep virtualbox 16/16 delete") {
					t.Errorf("SIGINT: delete did not run:\n%s", seen.String())
				}
			} else {
				code, stdout, _ := runCLI(t, "doctor", "--deep", "-c", h.conf)
				if code != exitOK || !strings.Contains(stdout, "removed 2 VM(s) an earlier run left") {
					t.Errorf("rerun after SIGKILL: exit = %d, want 0 after removing 2 VMs:\n%s", code, stdout)
				}
			}
			if left := h.doctorVMs(t); len(left) > 0 {
				t.Errorf("VMs left: %v\n%s", left, seen.String())
			}
		})
	}
}

// startUntil starts cmd and reads its output until a line containing line (or the end); it
// returns the rest of the output and what was read so far.
func startUntil(t *testing.T, cmd *exec.Cmd, line string) (io.Reader, *strings.Builder) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := &strings.Builder{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), line) {
			break
		}
	}
	return out, seen
}
