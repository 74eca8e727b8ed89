package qemu

import (
	"context"
	"os"
	"os/exec"
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
// owner, a folder without facts (debris of a creation), a recorded process that is gone, and a
// worker whose facts predate network policies (observed as the legacy policy, to be replaced).
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
				Power: reconcile.PowerAborted, Memory: 256, CPUs: 1, SSHPort: 2201, Snapshots: []string{"ready"},
				Network: reconcile.NetworkLegacy}, // its facts record no network policy: made before policies
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

// TestHasRoutesByFolder proves Has answers for this provider's folders only, by ID first, so a
// host with two providers routes StartWorker and Destroy of a VirtualBox UUID elsewhere.
func TestHasRoutesByFolder(t *testing.T) {
	p, err := New(Config{Owner: "h1", StateDir: t.TempDir(), LockDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.newVM("q-1", reconcile.RoleWorker, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(p.root, "stray-file"), nil, 0o644)
	tests := []struct {
		name string
		ref  reconcile.VMRef
		want bool
	}{
		{"folder by id", reconcile.VMRef{Name: "x", ID: "q-1"}, true},
		{"folder by name without id", reconcile.VMRef{Name: "q-1"}, true},
		{"virtualbox uuid", reconcile.VMRef{Name: "q-1", ID: "5f3e7c1a-0000-4000-8000-000000000001"}, false},
		{"a file is not a vm", reconcile.VMRef{ID: "stray-file"}, false},
		{"path escape", reconcile.VMRef{ID: ".."}, false},
		{"empty", reconcile.VMRef{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Has(tt.ref); got != tt.want {
				t.Errorf("Has(%+v) = %v, want %v", tt.ref, got, tt.want)
			}
		})
	}
}

// TestRecreatedVMGetsANewID proves a VM recreated in the same folder (a repaired worker) is a
// new reconcile ID, and that destroying the old ID leaves the successor alone.
func TestRecreatedVMGetsANewID(t *testing.T) {
	p, err := New(Config{Owner: "h1", StateDir: t.TempDir(), LockDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	observeID := func() string {
		t.Helper()
		inv, err := p.Observe(ctx)
		if err != nil || len(inv.VMs) != 1 {
			t.Fatalf("Observe = %+v, %v; want one VM", inv, err)
		}
		return inv.VMs[0].ID
	}
	if _, err := p.newVM("q-1", reconcile.RoleWorker, nil); err != nil {
		t.Fatal(err)
	}
	first := observeID()
	if folder, inc := splitID(first); folder != "q-1" || inc == "" {
		t.Fatalf("ID %q = folder %q incarnation %q, want q-1 and an incarnation", first, folder, inc)
	}
	if err := p.Destroy(ctx, reconcile.VMRef{Name: "q-1", ID: first}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.newVM("q-1", reconcile.RoleWorker, nil); err != nil {
		t.Fatal(err)
	}
	second := observeID()
	if second == first {
		t.Fatalf("recreated VM kept ID %q", first)
	}
	if !p.Has(reconcile.VMRef{ID: second}) {
		t.Errorf("Has(%q) = false for the new VM", second)
	}
	if err := p.Destroy(ctx, reconcile.VMRef{Name: "q-1", ID: first}); err != nil {
		t.Fatalf("Destroy of the gone incarnation: %v", err)
	}
	if got := observeID(); got != second {
		t.Errorf("after destroying the old ID the VM is %q, want %q untouched", got, second)
	}
}

func TestSplitID(t *testing.T) {
	tests := []struct {
		name, id, folder, inc string
	}{
		{"folder only", "q-1", "q-1", ""},
		{"with incarnation", "q-1@0123456789abcdef", "q-1", "0123456789abcdef"},
		{"at sign in a name is not an incarnation", "box@2", "box@2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, i := splitID(tt.id); f != tt.folder || i != tt.inc {
				t.Errorf("splitID(%q) = %q, %q; want %q, %q", tt.id, f, i, tt.folder, tt.inc)
			}
		})
	}
}

// TestDestroyKillsAProcessNoFactsName proves Destroy of creation debris kills a process that
// opens the folder's disk although no vm.json records it (an action killed between launching
// qemu and writing its pid).
func TestDestroyKillsAProcessNoFactsName(t *testing.T) {
	p, err := New(Config{Owner: "h1", StateDir: t.TempDir(), LockDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := p.dir("q-1")
	os.MkdirAll(dir, 0o755)
	other := p.dir("q-10") // a prefix of another VM's disk must not match
	// A shell blocked in its builtin read, with the disk argument as its $0, stands in for qemu.
	stdin, hold, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	start := func(disk string) (*exec.Cmd, chan struct{}) {
		cmd := exec.Command("sh", "-c", "read x", "file="+disk+",if=virtio")
		cmd.Stdin = stdin
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-exited })
		return cmd, exited
	}
	_, strayExited := start(filepath.Join(dir, diskFile))
	otherCmd, _ := start(filepath.Join(other, diskFile))
	otherStart, err := procStart(otherCmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if err := p.Destroy(context.Background(), reconcile.VMRef{Name: "q-1", ID: "q-1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-strayExited:
	case <-time.After(10 * time.Second):
		t.Fatal("the process opening the destroyed VM's disk still runs")
	}
	if !alive(otherCmd.Process.Pid, otherStart) {
		t.Error("Destroy of q-1 killed the process of q-10")
	}
}
