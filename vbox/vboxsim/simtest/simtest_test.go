package simtest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

func TestCleanupKillsGuests(t *testing.T) {
	var pid int
	t.Run("sim", func(t *testing.T) {
		sim := simtest.New(t)
		ovf := sim.MakeBox(t, vboxsim.BoxOptions{})
		for _, args := range [][]string{{"import", ovf, "--vsys", "0", "--vmname", "vm"}, {"startvm", "vm"}} {
			if out, errOut, code := sim.Run(t, args...); code != 0 {
				t.Fatalf("%v: exit %d %s %s", args, code, out, errOut)
			}
		}
		b, err := os.ReadFile(filepath.Join(sim.Home, "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		var st vboxsim.State
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		pid = st.Machines[0].GuestPID
		if pid == 0 || syscall.Kill(pid, 0) != nil {
			t.Fatalf("guest pid %d is not running", pid)
		}
		if env := sim.Env(); len(env) != 1 || !strings.HasPrefix(env[0], "VBOXSIM_HOME=") {
			t.Errorf("Env = %v", env)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile("/proc/" + itoa(pid) + "/stat")
		if len(b) == 0 || strings.Contains(string(b), ") Z") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("guest %d survived the test's cleanup", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunReportsMissingHome(t *testing.T) {
	bin := simtest.Binary(t)
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "VBOXSIM_HOME=") {
			env = append(env, e)
		}
	}
	p, err := os.StartProcess(bin, []string{bin, "list", "vms"}, &os.ProcAttr{Env: env, Files: []*os.File{nil, nil, nil}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || st.ExitCode() != 1 {
		t.Errorf("without VBOXSIM_HOME: %v exit %d, want exit 1", err, st.ExitCode())
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
