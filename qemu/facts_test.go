package qemu

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fleet-agent/fleet/reconcile"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name      string
		line      string
		wantStart uint64
		wantState byte
		wantErr   bool
	}{
		{"plain", "4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 1 0 0 0 5 3 0 0 20 0 3 0 987654 1 2 3", 987654, 'S', false},
		{"name with spaces and parens", "7 (a) b) (c) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0", 55, 'Z', false},
		{"truncated", "7 (x) S 1 2", 0, 0, true},
		{"no name", "garbage", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, state, err := parseStat([]byte(tt.line))
			if (err != nil) != tt.wantErr || st != tt.wantStart || state != tt.wantState {
				t.Errorf("parseStat = %d, %q, %v; want %d, %q, err %v", st, state, err, tt.wantStart, tt.wantState, tt.wantErr)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("4242 (qemu) S 1 4242 4242 0 -1 4194560 1 0 0 0 5 3 0 0 20 0 3 0 987654 1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, state, err := parseStat(b); err == nil && state == 0 {
			t.Errorf("parseStat(%q) succeeded without a state", b)
		}
	})
}

func TestAliveChecksStartTime(t *testing.T) {
	pid := os.Getpid()
	start, err := procStart(pid)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pid   int
		start uint64
		want  bool
	}{
		{"this process", pid, start, true},
		{"same pid, other start time (reused pid)", pid, start + 1, false},
		{"no pid", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alive(tt.pid, tt.start); got != tt.want {
				t.Errorf("alive(%d, %d) = %v, want %v", tt.pid, tt.start, got, tt.want)
			}
		})
	}
}

func TestHasVirtFlag(t *testing.T) {
	tests := []struct {
		name, cpuinfo string
		want          bool
	}{
		{"vmx", "processor\t: 0\nflags\t\t: fpu vme vmx sse\n", true},
		{"svm", "flags\t: fpu svm\n", true},
		{"hypervisor only", "flags\t\t: fpu hypervisor sse\n", false},
		{"vmx outside flags", "model name\t: vmx cpu\nflags\t: fpu\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasVirtFlag([]byte(tt.cpuinfo)); got != tt.want {
				t.Errorf("hasVirtFlag = %v, want %v", got, tt.want)
			}
		})
	}
	if Accel("tcg") != "tcg" || Accel("kvm") != "kvm" {
		t.Error("Accel does not keep an explicit setting")
	}
}

// TestObserveReadsFolders checks the registry-less observation: managed facts, a foreign
// owner, a folder without facts (debris of a creation), and a recorded process that is gone.
func TestObserveReadsFolders(t *testing.T) {
	p, err := New(Config{Owner: "h1", StateDir: t.TempDir(), LockDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	write := func(name string, f *facts) {
		os.MkdirAll(p.dir(name), 0o755)
		if f != nil {
			if err := writeFacts(p.dir(name), f); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("q-1", &facts{Name: "q-1", Owner: "h1", Role: reconcile.RoleWorker, Phase: reconcile.PhaseReady, Pool: "q", Golden: "abc",
		Created: created, Memory: 256, CPUs: 1, SSHPort: 2201, Snapshots: []string{"ready"}, PID: os.Getpid(), Start: 1})
	write("g", &facts{Name: "g", Owner: "h1", Role: reconcile.RoleGolden, Phase: reconcile.PhaseReady, Created: created})
	write("other", &facts{Name: "other", Owner: "h2", Role: reconcile.RoleWorker})
	write("half", nil)
	inv, err := p.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p.dir("half"))
	want := reconcile.Inventory{
		Owner: "h1",
		VMs: []reconcile.VM{
			{Name: "g", ID: "g", Role: "golden", Phase: "ready", Created: created, Power: reconcile.PowerStopped},
			{Name: "half", ID: "half", Phase: "creating", Created: st.ModTime(), Power: reconcile.PowerStopped},
			{Name: "q-1", ID: "q-1", Role: "worker", Pool: "q", Phase: "ready", Image: "abc", Created: created,
				Power: reconcile.PowerAborted, Memory: 256, CPUs: 1, SSHPort: 2201, Snapshots: []string{"ready"}},
		},
		Foreign: []reconcile.Foreign{{Name: "other", ID: "other", Owner: "h2"}},
	}
	if diff := cmp.Diff(want, inv); diff != "" {
		t.Errorf("Observe (-want +got):\n%s", diff)
	}
	used, _ := p.UsedPorts(context.Background())
	if !used[2201] || len(used) != 1 {
		t.Errorf("UsedPorts = %v, want {2201}", used)
	}
	if err := p.Destroy(context.Background(), reconcile.VMRef{Name: "other", ID: "other"}); err == nil {
		t.Error("Destroy removed another host's VM")
	}
	if err := p.Destroy(context.Background(), reconcile.VMRef{Name: "half", ID: "half"}); err != nil {
		t.Errorf("Destroy of creation debris: %v", err)
	}
	if _, err := os.Stat(filepath.Join(p.root, "half")); !os.IsNotExist(err) {
		t.Errorf("debris folder still there: %v", err)
	}
}
