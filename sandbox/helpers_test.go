package sandbox

// The test world: a VirtualBox simulator driven by the real driver, a real
// redis-server behind the real queue, a git repository to build, and worker
// VMs made ready the way the VirtualBox provider makes them (agent key, SSH
// forward, marker file, pinned host key, live `ready` snapshot).

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

type world struct {
	sim      *simtest.Sim
	drv      *vbox.Driver
	agent    guest.Config  // Signers holds the agent's key
	qc       *queue.Client // nil for worlds without a queue
	repoURL  string
	commit   string
	stateDir string
}

// newWorld makes a simulator, an agent key and a repository; withQueue also
// starts a redis-server.
func newWorld(t testing.TB, withQueue bool) *world {
	t.Helper()
	w := &world{sim: simtest.New(t), stateDir: t.TempDir()}
	w.drv = w.driver(t)
	key, err := guest.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w.agent.Signers = append(w.agent.Signers, key)
	w.repoURL, w.commit = makeRepo(t, filepath.Join(w.sim.Home, "repo"))
	if withQueue {
		srv := redistest.Start(t)
		qc, err := queue.New(srv.Client(t), queue.Config{Host: "test-host"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.qc = qc
	}
	return w
}

// driver returns a driver for the simulator with its current profile.
func (w *world) driver(t testing.TB) *vbox.Driver {
	return vbox.New(vbox.Config{
		Manage: w.sim.Bin, Env: w.sim.Env(), LockDir: t.TempDir(),
		RetryBase: 50 * time.Millisecond, PollInterval: 50 * time.Millisecond,
	}, nil)
}

// makeRepo creates a git repository with one commit in dir (outside /tmp,
// which guests see as their own tmp) and returns its URL and commit.
func makeRepo(t testing.TB, dir string) (url, commit string) {
	t.Helper()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("fleet test repository\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "README")
	git("commit", "-q", "-m", "first")
	return "file://" + dir, git("rev-parse", "HEAD")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// worker makes a ready worker VM called name and returns it with the
// directory that is its disk. bins are copied into the disk's bin/.
func (w *world) worker(t testing.TB, name string, bins ...string) (*VBoxVM, string) {
	t.Helper()
	ctx := context.Background()
	pub := guest.FormatHostKey(w.agent.Signers[0].PublicKey()) + "\n"
	ovf := w.sim.MakeBox(t, vboxsim.BoxOptions{AuthorizedKeys: []byte(pub), Bins: bins})
	if _, err := w.drv.Import(ctx, ovf, name, nil); err != nil {
		t.Fatalf("import: %v", err)
	}
	if err := w.drv.AddForward(ctx, name, vbox.Forward{Name: "ssh", HostPort: freePort(t), GuestPort: 22}); err != nil {
		t.Fatalf("forward: %v", err)
	}
	if err := w.drv.Start(ctx, name); err != nil {
		t.Fatalf("start: %v", err)
	}
	vm := NewVBoxVM(w.drv, name)
	info, err := w.drv.Info(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	addr := ""
	for _, f := range info.Forwards {
		if f.GuestPort == 22 {
			addr = fmt.Sprintf("127.0.0.1:%d", f.HostPort)
		}
	}
	c, err := guest.WaitForSSH(ctx, guest.Config{VM: name, Addr: addr, User: DefaultUser,
		Signers: w.agent.Signers, TrustOnFirstUse: true}, time.Minute)
	if err != nil {
		t.Fatalf("wait for ssh: %v", err)
	}
	defer c.Close()
	marker := "ready " + name + " " + info.UUID
	setup := "mkdir -p .fleet && printf '%s\\n' " + Quote(marker) + " > " + MarkerFile +
		" && echo original > keep.txt && echo image > image.txt"
	var stderr bytes.Buffer
	if err := c.Run(ctx, setup, nil, &stderr); err != nil {
		t.Fatalf("write image files: %v: %s", err, stderr.String())
	}
	for k, v := range map[string]string{KeyHostKey: guest.FormatHostKey(c.HostKey()), KeyMarker: marker} {
		if err := w.drv.SetExtraData(ctx, name, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.drv.TakeSnapshot(ctx, name, SnapshotReady, true); err != nil {
		t.Fatalf("take ready snapshot: %v", err)
	}
	return vm, filepath.Join(w.sim.Home, "machines", name, "disk")
}

// sandbox returns a sandbox for vm on the queue's slot; tweak edits its
// config.
func (w *world) sandbox(t testing.TB, vm VM, q Queue, slot Slot, tweak func(*Config)) *Sandbox {
	t.Helper()
	cfg := Config{
		VM: vm, Queue: q, Slot: slot, Guest: w.agent, StateDir: w.stateDir,
		Job:     spec.Job{Timeout: time.Minute, LogSilence: time.Minute, MaxLog: 1 << 20},
		SSHWait: time.Minute, FlushInterval: 100 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// slot registers a queue slot serving queue q.
func (w *world) slot(t testing.TB, name, q string) *queue.Slot {
	t.Helper()
	s, err := w.qc.NewSlot(name, []string{q})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Register(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// args returns a valid payload building the world's repository with steps.
func (w *world) args(steps ...string) queue.Args {
	return queue.Args{
		Repository: queue.Repository{Slug: "fleet/test", URL: w.repoURL},
		Commit:     w.commit, Branch: "main", Script: steps,
	}
}

// submitFetch enqueues a on the slot's queue and fetches it with the slot.
func (w *world) submitFetch(t testing.TB, slot *queue.Slot, a queue.Args) *queue.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := w.qc.Submit(ctx, slot.Queues()[0], a); err != nil {
		t.Fatalf("submit: %v", err)
	}
	job, err := slot.Fetch(ctx)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return job
}

// queueLog returns job id's log as stored in the queue.
func (w *world) queueLog(t testing.TB, id string) string {
	t.Helper()
	var b strings.Builder
	if _, err := w.qc.FollowLog(context.Background(), id, &b, false); err != nil {
		t.Fatalf("read log of %s: %v", id, err)
	}
	return b.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
