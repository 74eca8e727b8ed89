package qemu

// Real-VM tests of what a build can reach (network.go, spec/network.go): each runs inside
// network namespaces it creates (internal/netnstest), so a guest's probe of 10.0.2.2 or any
// other address never leaves this machine. Every probe is a job run by the sandbox over the
// agent's SSH connection, as a build runs.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/internal/netnstest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/spec"
)

// service is a TCP listener that greets every connection with its name and counts them.
type service struct {
	name     string
	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
}

func newService(t *testing.T, name string, ln net.Listener, err error) *service {
	t.Helper()
	if err != nil {
		t.Fatalf("listen for %s: %v", name, err)
	}
	s := &service{name: name, ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			fmt.Fprintf(c, "HELLO-%s\n", name)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *service) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *service) hostPort() string { return s.ln.Addr().String() }

// loopbackService listens on the host's 127.0.0.1.
func loopbackService(t *testing.T, name string) *service {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	return newService(t, name, ln, err)
}

// captureSlot records a job's result.
type captureSlot struct {
	mu  sync.Mutex
	res queue.Result
}

func (s *captureSlot) Finish(_ context.Context, _ *queue.Job, r queue.Result) error {
	s.mu.Lock()
	s.res = r
	s.mu.Unlock()
	return nil
}
func (s *captureSlot) Requeue(context.Context, *queue.Job) error { return nil }

// syncBuffer is a job log the sandbox writes and the test reads after the job.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// probeStep connects from the guest to each target ("addr:port") and prints one line per
// target: "probe TARGET [what it answered]"; busybox nc gives up after 3 s.
func probeStep(targets ...string) string {
	var b strings.Builder
	for _, tg := range targets {
		host, port, _ := net.SplitHostPort(tg)
		fmt.Fprintf(&b, "echo \"probe %s [$(echo hi | nc -w 3 %s %s 2>/dev/null | tr -d '\\r\\n')]\"; ", tg, host, port)
	}
	return b.String()
}

// answers parses the probe lines of a job log into target -> answer.
func answers(log string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(log, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "probe ")
		if !ok {
			continue
		}
		tg, ans, ok := strings.Cut(rest, " [")
		if ok && strings.HasSuffix(ans, "]") {
			out[tg] = strings.TrimSuffix(ans, "]")
		}
	}
	return out
}

// runJob runs script as a build on worker name with the pool's host services and returns
// the job's result and log.
func (e *env) runJob(t *testing.T, ctx context.Context, name string, hostServices []string, script ...string) (queue.Result, string) {
	t.Helper()
	slot := &captureSlot{}
	var log syncBuffer
	s, err := sandbox.New(sandbox.Config{VM: e.p.VM(name), Queue: nopQueue{}, Slot: slot, StateDir: t.TempDir(),
		Guest: guest.Config{User: e.img.User, Signers: []ssh.Signer{e.p.key}}, SSHWait: time.Minute,
		HostServices: hostServices, LogOutput: func(string) io.Writer { return &log }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := &queue.Job{Args: queue.Args{ID: "net-probe", Repository: queue.Repository{Slug: "t/probe", URL: "file:///nowhere"},
		Commit: "0000000", Script: script}}
	out, err := s.Run(ctx, job)
	if err != nil || out.Requeued {
		t.Fatalf("job on %s: %v (requeued %v, %v)\nlog:\n%s", name, err, out.Requeued, out.Err, log.String())
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	return slot.res, log.String()
}

// setNetwork gives the env's pool network n.
func (e *env) setNetwork(n spec.Network) {
	e.fleet.Pools[0].Network = n
	e.desired = reconcile.NewDesired(e.fleet, nil)
}

// netProbe is one worker behind a network policy, in a test-made namespace, with the host
// services the probes aim at: secret (a host loopback service nobody allowed, the host's
// Redis say), allowed (the pool's one host service) and outside (in the peer namespace).
type netProbe struct {
	ctx                      context.Context
	e                        *env
	secret, allowed, outside *service
	services                 []string // the pool's host_services
}

// newNetProbe re-runs the test in fresh namespaces (netnstest.Run) and returns nil in the
// parent; in the child it converges one worker with egress and the allowed service.
func newNetProbe(t *testing.T, egress string) *netProbe {
	t.Helper()
	ns := netnstest.Run(t)
	if ns == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	n := &netProbe{ctx: ctx, e: newEnv(t, 1), secret: loopbackService(t, "secret"), allowed: loopbackService(t, "allowed")}
	pl, err := ns.ListenPeer(netnstest.PeerAddr + ":0")
	n.outside = newService(t, "outside", pl, err)
	n.services = []string{n.allowed.hostPort()}
	n.e.setNetwork(spec.Network{Egress: egress, HostServices: n.services})
	n.e.converge(t, ctx)
	return n
}

// TestGuestNetworkPoliciesQEMU boots one worker with the default egress and one host service
// and, from inside builds, proves: a host loopback listener unreachable through 10.0.2.2 and
// every other address the guest could try; the allow-listed service reachable at 127.0.0.1 on
// its port while a second loopback listener beside it is not; the outside world (a listener in
// a peer namespace) reachable; a worker whose passt died observed as aborted and repaired. Then
// it sets egress = "none": the worker is replaced (the golden kept), and from inside a build
// neither the outside nor the host is reachable while SSH and the host service still work. One
// golden serves both policies, which keeps the real-VM suite short.
func TestGuestNetworkPoliciesQEMU(t *testing.T) {
	n := newNetProbe(t, spec.EgressIsolated)
	if n == nil {
		return
	}
	ctx, e, secret, allowed, outside, services := n.ctx, n.e, n.secret, n.allowed, n.outside, n.services
	beside := loopbackService(t, "beside") // on the host beside the allowed one
	if w := e.workers(t, ctx)["q-1"]; w.Network != "egress=isolated host_services="+allowed.hostPort() {
		t.Fatalf("worker network policy %q", w.Network)
	}

	port := func(s *service) string { return fmt.Sprint(s.port()) }
	closed := []string{}
	for _, addr := range []string{"10.0.2.2", "10.0.2.3", "10.0.2.15", "127.0.0.1", netnstest.HostAddr, netnstest.PeerAddr} {
		closed = append(closed, net.JoinHostPort(addr, port(secret)))
	}
	besideTargets := []string{"127.0.0.1:" + port(beside), "10.0.2.2:" + port(beside), netnstest.HostAddr + ":" + port(beside)}
	script := probeStep(append(append(closed, besideTargets...), "127.0.0.1:"+port(allowed), outside.hostPort())...)

	res, log := e.runJob(t, ctx, "q-1", services, script)
	if res.State != queue.StatePassed {
		t.Fatalf("probe job %s (exit %d): %v\n%s", res.State, res.ExitCode, res.Err, log)
	}
	got := answers(log)
	t.Run("GuestCannotReachHostLoopbackQEMU", func(t *testing.T) {
		for _, tg := range append(closed, besideTargets...) {
			if a, ok := got[tg]; !ok || a != "" {
				t.Errorf("guest probe of %s answered %q (present %v), want nothing\n%s", tg, a, ok, log)
			}
		}
		if n := secret.accepted.Load(); n != 0 {
			t.Errorf("host loopback listener accepted %d connections from the guest", n)
		}
		if n := beside.accepted.Load(); n != 0 {
			t.Errorf("listener beside the allowed service accepted %d connections", n)
		}
	})
	t.Run("AllowListedHostServiceReachableQEMU", func(t *testing.T) {
		if a := got["127.0.0.1:"+port(allowed)]; a != "HELLO-allowed" {
			t.Errorf("allow-listed service at the guest's 127.0.0.1:%d answered %q, want HELLO-allowed\n%s", allowed.port(), a, log)
		}
	})
	t.Run("EgressReachesOutsideQEMU", func(t *testing.T) {
		if a := got[outside.hostPort()]; a != "HELLO-outside" {
			t.Errorf("outside listener %s answered %q, want HELLO-outside\n%s", outside.hostPort(), a, log)
		}
	})
	t.Run("WorkerWhosePasstDiedIsRepairedQEMU", func(t *testing.T) {
		f, err := readFacts(e.p.dir("q-1"))
		if err != nil {
			t.Fatal(err)
		}
		if f.PasstPID == 0 || !alive(f.PasstPID, f.PasstStart) {
			t.Fatalf("worker has no running passt recorded: pid %d", f.PasstPID)
		}
		syscall.Kill(f.PasstPID, syscall.SIGKILL)
		waitFor(t, 10*time.Second, func() bool { return !alive(f.PasstPID, f.PasstStart) })
		if w := e.workers(t, ctx)["q-1"]; w.Power != reconcile.PowerAborted {
			t.Fatalf("worker with a dead passt observed as %s, want aborted", w.Power)
		}
		e.converge(t, ctx)
		if alive(f.PID, f.Start) {
			t.Errorf("old qemu %d still runs after the repair", f.PID)
		}
		res, log := e.runJob(t, ctx, "q-1", services, probeStep("127.0.0.1:"+port(allowed)))
		if res.State != queue.StatePassed || answers(log)["127.0.0.1:"+port(allowed)] != "HELLO-allowed" {
			t.Errorf("repaired worker: job %s, log:\n%s", res.State, log)
		}
	})
	t.Run("PolicyChangeReplacesWorkerKeepsGoldenQEMU", func(t *testing.T) {
		before, err := readFacts(e.p.dir("q-1"))
		if err != nil {
			t.Fatal(err)
		}
		e.setNetwork(spec.Network{Egress: spec.EgressNone, HostServices: services})
		e.converge(t, ctx)
		f, err := readFacts(e.p.dir("q-1"))
		if err != nil {
			t.Fatal(err)
		}
		if f.Incarnation == before.Incarnation || f.From != before.From {
			t.Errorf("worker not replaced from the same golden: incarnation %s -> %s, golden %s -> %s",
				before.Incarnation, f.Incarnation, before.From, f.From)
		}
		if f.PasstPID != 0 || f.Egress != spec.EgressNone || alive(before.PasstPID, before.PasstStart) {
			t.Fatalf("egress none worker: passt pid %d (old one alive %v), egress %q", f.PasstPID, alive(before.PasstPID, before.PasstStart), f.Egress)
		}
	})
	t.Run("EgressNoneHasNoRouteOutQEMU", func(t *testing.T) { egressNoneHasNoRouteOut(t, n) })
}

// egressNoneHasNoRouteOut probes from inside a build on n's worker, whose pool has egress =
// "none": neither the outside world nor the host (10.0.2.2, its addresses) is reachable, while
// the agent's SSH (the build itself) and the allow-listed service work.
func egressNoneHasNoRouteOut(t *testing.T, n *netProbe) {
	ctx, e, secret, allowed, outside, services := n.ctx, n.e, n.secret, n.allowed, n.outside, n.services
	earlier := outside.accepted.Load() + secret.accepted.Load() // the isolated phase reached outside
	closed := []string{outside.hostPort(), fmt.Sprintf("10.0.2.2:%d", secret.port()), fmt.Sprintf("%s:%d", netnstest.HostAddr, secret.port())}
	res, log := e.runJob(t, ctx, "q-1", services,
		probeStep(append(closed, fmt.Sprintf("127.0.0.1:%d", allowed.port()))...))
	if res.State != queue.StatePassed {
		t.Fatalf("probe job %s (exit %d): %v\n%s", res.State, res.ExitCode, res.Err, log)
	}
	got := answers(log)
	for _, tg := range closed {
		if a, ok := got[tg]; !ok || a != "" {
			t.Errorf("guest probe of %s answered %q (present %v), want nothing\n%s", tg, a, ok, log)
		}
	}
	if n := outside.accepted.Load() + secret.accepted.Load() - earlier; n != 0 {
		t.Errorf("%d connections from the guest arrived outside or at the host", n)
	}
	if a := got[fmt.Sprintf("127.0.0.1:%d", allowed.port())]; a != "HELLO-allowed" {
		t.Errorf("allow-listed service answered %q, want HELLO-allowed\n%s", a, log)
	}
}
