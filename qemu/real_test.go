package qemu

// Real-VM tests: they boot the tiny guest of qemu/imagebuild under QEMU (TCG here) and drive
// it through reconcile and the sandbox. They are skipped, with the reason, only when
// qemu-system-x86_64 or the image build tools are missing (scripts/qemu-deps.sh installs them).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/qemu/imagebuild"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/reconcile/boxcache"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/spec"
)

var (
	imageOnce sync.Once
	image     *imagebuild.Image
	imageErr  error
)

// testImage builds (or finds in the cache) the guest image once per test binary.
func testImage(t testing.TB) *imagebuild.Image {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (scripts/qemu-deps.sh installs it)")
	}
	if m := imagebuild.Missing(); len(m) > 0 {
		t.Skipf("image build tools missing (scripts/qemu-deps.sh installs them): %v", m)
	}
	imageOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		image, imageErr = imagebuild.Build(ctx, imagebuild.Options{})
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return image
}

// env is a provider on a fresh state folder with the test image as box "tiny".
type env struct {
	p       *Provider
	cache   *boxcache.Cache
	desired reconcile.Desired
	applier *reconcile.Applier
	img     *imagebuild.Image
	fleet   *spec.Fleet
}

func newEnv(t testing.TB, workers int) *env {
	t.Helper()
	return newEnvPool(t, workers, nil)
}

// newEnvPool is newEnv with the pool changed by mod (nil: as newEnv) before the desired state
// is computed.
func newEnvPool(t testing.TB, workers int, mod func(*spec.Pool)) *env {
	t.Helper()
	img := testImage(t)
	state := t.TempDir()
	boxDir := filepath.Join(t.TempDir(), "box")
	os.MkdirAll(boxDir, 0o755)
	for src, dst := range map[string]string{img.Disk: BoxDisk, img.Kernel: BoxKernel, img.Initrd: BoxInitrd} {
		if err := copyReadOnly(src, filepath.Join(boxDir, dst)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(boxDir, BoxCmdline), []byte(img.Cmdline+"\n"), 0o644)
	boxFile := filepath.Join(t.TempDir(), "tiny.box")
	f, err := os.Create(boxFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := boxcache.Pack(f, boxDir); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p, err := New(Config{Owner: "test-host", StateDir: state, PortRange: [2]int{42600, 42699}, LockDir: t.TempDir(), BootTimeout: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	box := &spec.Box{Name: "tiny", Version: "1", URL: "file://" + boxFile, SSH: spec.BoxSSH{User: img.User, PrivateKey: img.PrivateKey, Port: 22}}
	pool := &spec.Pool{Name: "q", Box: "tiny", Provider: spec.ProviderQEMU, VMs: workers, Memory: 256, CPUs: 1}
	if mod != nil {
		mod(pool)
	}
	fleet := &spec.Fleet{Host: spec.Host{Name: "test-host", StateDir: state}, Boxes: []*spec.Box{box}, Pools: []*spec.Pool{pool}}
	e := &env{p: p, cache: &boxcache.Cache{Dir: filepath.Join(state, "boxes")}, desired: reconcile.NewDesired(fleet, nil), img: img, fleet: fleet}
	e.applier = &reconcile.Applier{Provider: p, Boxes: e.cache, MaxParallel: 2, Retries: 1, RetryBase: 100 * time.Millisecond}
	return e
}

func (e *env) converge(t testing.TB, ctx context.Context) reconcile.Result {
	t.Helper()
	res, err := e.applier.Converge(ctx, e.desired, func(ctx context.Context) (reconcile.Inventory, error) {
		return reconcile.Observe(ctx, e.p, e.cache, true, time.Now())
	}, nil, 4)
	if err != nil {
		t.Fatalf("converge: %v (failures %v)", err, res.Failures)
	}
	return res
}

func (e *env) workers(t testing.TB, ctx context.Context) map[string]reconcile.VM {
	t.Helper()
	inv, err := e.p.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]reconcile.VM{}
	for _, v := range inv.VMs {
		if v.Role == reconcile.RoleWorker {
			out[v.Name] = v
		}
	}
	return out
}

// ssh runs cmd on worker name with its pinned host key and the agent's key.
func (e *env) ssh(t testing.TB, ctx context.Context, name, cmd string) string {
	t.Helper()
	ep, err := e.p.VM(name).Endpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := guest.WaitForSSH(ctx, guest.Config{VM: name, Addr: ep.Addr, User: "root", Signers: []ssh.Signer{e.p.key}, HostKey: ep.HostKey}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out bytes.Buffer
	if err := c.Run(ctx, cmd, &out, &out); err != nil {
		t.Fatalf("ssh %s %q: %v: %s", name, cmd, err, out.String())
	}
	return out.String()
}

// nopQueue satisfies the sandbox's queue side for Reset, which runs no job.
type nopQueue struct{}

func (nopQueue) AppendLog(context.Context, string, []byte) error { return nil }
func (nopQueue) WatchCancel(ctx context.Context, _ string) (context.Context, func()) {
	return ctx, func() {}
}
func (nopQueue) Finish(context.Context, *queue.Job, queue.Result) error { return nil }
func (nopQueue) Requeue(context.Context, *queue.Job) error              { return nil }

// TestRealPoolLifecycle applies 0 -> 2 workers from a real golden, proves the sandbox
// rollback on a real VM (a file written after ready is gone, the marker and clock are right),
// repairs a worker whose qemu was killed with SIGKILL, and scales back to 0 without leaving
// overlays or processes.
func TestRealPoolLifecycle(t *testing.T) {
	e := newEnv(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	e.converge(t, ctx)
	ws := e.workers(t, ctx)
	if len(ws) != 2 {
		t.Fatalf("workers after apply = %v, want q-1 and q-2", ws)
	}
	for name, w := range ws {
		if w.Power != reconcile.PowerRunning || w.Phase != reconcile.PhaseReady || !w.HasSnapshot(reconcile.SnapshotReady) {
			t.Errorf("%s = %+v, want running, ready, with a ready snapshot", name, w)
		}
	}

	t.Run("rollback removes the job's files", func(t *testing.T) {
		vm := e.p.VM("q-1")
		s, err := sandbox.New(sandbox.Config{VM: vm, Queue: nopQueue{}, Slot: nopQueue{}, StateDir: t.TempDir(),
			Guest: guest.Config{User: "root", Signers: []ssh.Signer{e.p.key}}, SSHWait: time.Minute}, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.ssh(t, ctx, "q-1", "echo secret > /root/job1-file && date -u -s @1000000000 >/dev/null && sync")
		if err := s.Reset(ctx); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		out := e.ssh(t, ctx, "q-1", "ls /root; cat /root/.fleet/ready; date -u +%s")
		if strings.Contains(out, "job1-file") {
			t.Errorf("job 1's file survived the rollback: %q", out)
		}
		fields := strings.Fields(out)
		if len(fields) == 0 {
			t.Fatalf("no output: %q", out)
		}
		var guestNow int64
		if _, err := fmt.Sscan(fields[len(fields)-1], &guestNow); err != nil || abs(time.Now().Unix()-guestNow) > 30 {
			t.Errorf("guest clock after restore = %s, host %d: not set", fields[len(fields)-1], time.Now().Unix())
		}
	})

	t.Run("a worker killed with SIGKILL is repaired", func(t *testing.T) {
		f, err := readFacts(e.p.dir("q-2"))
		if err != nil {
			t.Fatal(err)
		}
		syscall.Kill(f.PID, syscall.SIGKILL)
		waitFor(t, 10*time.Second, func() bool { return !alive(f.PID, f.Start) })
		if w := e.workers(t, ctx)["q-2"]; w.Power != reconcile.PowerAborted {
			t.Fatalf("killed worker observed as %s, want aborted", w.Power)
		}
		e.converge(t, ctx)
		w := e.workers(t, ctx)["q-2"]
		g, _ := readFacts(e.p.dir("q-2"))
		if w.Power != reconcile.PowerRunning || g.PID == f.PID {
			t.Errorf("after repair q-2 = %s pid %d (killed pid %d), want a new running process", w.Power, g.PID, f.PID)
		}
	})

	t.Run("scale to zero leaves no worker folder or process", func(t *testing.T) {
		var pids []*facts
		for name := range e.workers(t, ctx) {
			f, _ := readFacts(e.p.dir(name))
			pids = append(pids, f)
		}
		e.desired.Pools[0].VMs = 0
		e.converge(t, ctx)
		if ws := e.workers(t, ctx); len(ws) != 0 {
			t.Errorf("workers after scaling to 0: %v", ws)
		}
		for _, f := range pids {
			if alive(f.PID, f.Start) {
				t.Errorf("qemu of %s (pid %d) still runs", f.Name, f.PID)
			}
			if _, err := os.Stat(e.p.dir(f.Name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("folder of %s left behind: %v", f.Name, err)
			}
		}
	})
}

func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
