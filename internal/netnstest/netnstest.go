// Package netnstest runs a test inside network namespaces the test itself creates, so that
// every packet the code under test (and the guests it starts) sends stays on this machine:
// namespace "host" (loopback and a veth with a TEST-NET-2 address, 198.51.100.2/24, default
// route via the peer) stands in for the build host, namespace "peer" (198.51.100.1/24) for the
// outside world. A guest's probe of 10.0.2.2 or any other address then goes to the peer, which
// owns none of them and forwards nothing, instead of the real network.
//
// Run re-executes the test binary inside the host namespace for one test; the parent waits for
// it, reports its output and removes the namespaces and any process left in them.
package netnstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Addresses of the two namespaces.
const (
	HostAddr = "198.51.100.2" // the stand-in build host's outside address
	PeerAddr = "198.51.100.1" // the stand-in outside world (default gateway of the host)
)

const (
	envPeer = "FLEET_NETNSTEST_PEER" // set in the child: the peer namespace's name
)

// Env is the child's view: the peer namespace to listen in.
type Env struct {
	Peer string // name of the peer namespace (under /var/run/netns)
}

// Run runs the calling test inside a fresh host namespace. In the parent it returns nil after
// the child has run (the test's outcome is the child's); in the child it returns the Env. A
// test calls it first and returns when it gets nil:
//
//	env := netnstest.Run(t)
//	if env == nil {
//		return
//	}
//
// It skips when network namespaces cannot be made here (not root, no ip(8)).
func Run(t *testing.T) *Env {
	t.Helper()
	if peer := os.Getenv(envPeer); peer != "" {
		return &Env{Peer: peer}
	}
	if os.Geteuid() != 0 {
		t.Skip("netnstest: needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("netnstest: ip(8) not installed (Debian package iproute2)")
	}
	b := make([]byte, 4)
	rand.Read(b)
	id := hex.EncodeToString(b)
	host, peer := "fleet-t-"+id+"-h", "fleet-t-"+id+"-p"
	t.Cleanup(func() {
		for _, ns := range []string{host, peer} {
			killAll(ns)
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	setup := [][]string{
		{"netns", "add", host}, {"netns", "add", peer},
		{"link", "add", "vh" + id, "netns", host, "type", "veth", "peer", "name", "vp" + id, "netns", peer},
		{"-n", host, "link", "set", "lo", "up"}, {"-n", peer, "link", "set", "lo", "up"},
		{"-n", host, "addr", "add", HostAddr + "/24", "dev", "vh" + id},
		{"-n", peer, "addr", "add", PeerAddr + "/24", "dev", "vp" + id},
		{"-n", host, "link", "set", "vh" + id, "up"}, {"-n", peer, "link", "set", "vp" + id, "up"},
		{"-n", host, "route", "add", "default", "via", PeerAddr},
	}
	for _, args := range setup {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			if args[0] == "netns" {
				t.Skipf("netnstest: network namespaces not possible here: ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
			t.Fatalf("netnstest: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	args := []string{"netns", "exec", host, os.Args[0], "-test.run", "^" + regexp.QuoteMeta(t.Name()) + "$", "-test.count=1", "-test.v"}
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout", time.Until(d).Round(time.Second).String())
	}
	cmd := exec.Command("ip", args...)
	cmd.Env = append(os.Environ(), envPeer+"="+peer)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("inside network namespace %s (peer %s):\n%s", host, peer, out.String())
	if err != nil {
		t.Fatalf("test in network namespace %s: %v", host, err)
	}
	if bytes.Contains(out.Bytes(), []byte("--- SKIP: "+t.Name())) {
		t.Skip("skipped inside the network namespace (see log)")
	}
	return nil
}

// ListenPeer listens on TCP addr ("198.51.100.1:0") inside the peer namespace: a service of
// the outside world. It must be called in the child.
func (e *Env) ListenPeer(addr string) (net.Listener, error) {
	var ln net.Listener
	err := e.inPeer(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// inPeer runs f on an OS thread switched into the peer namespace; a socket made there stays
// in it. The thread is not returned to the scheduler (LockOSThread without Unlock), as its
// namespace is changed for good.
func (e *Env) inPeer(f func() error) error {
	fd, err := unix.Open("/var/run/netns/"+e.Peer, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open peer namespace: %w", err)
	}
	defer unix.Close(fd)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("enter peer namespace: %w", err)
			return
		}
		done <- f()
	}()
	return <-done
}

// killAll kills every process left in namespace ns.
func killAll(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
