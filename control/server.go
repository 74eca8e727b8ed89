// The control socket's server: socket creation with mode 0600 without a umask race, the peer
// credential check, and one goroutine per connection, all owned by Serve's context.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Handler is what the daemon offers the socket. Its methods are called from connection
// goroutines and must be safe for concurrent use.
type Handler interface {
	// Status returns a snapshot of the host.
	Status() Status
	// Drain stops fetching everywhere (and persists that) with r's deadline and force.
	Drain(r DrainRequest) error
	// Resume undoes Drain.
	Resume() error
	// Changed returns a channel that is closed at the next change of what Status returns.
	Changed() <-chan struct{}
}

// VMHandler is what a daemon offers for operator controls of single workers. A Handler that
// does not implement it answers those requests with an error.
type VMHandler interface {
	// DrainVMs stops the named workers fetching (persisted) with r's force; r.Deadline is
	// ignored. An unknown or foreign name is refused and nothing changes.
	DrainVMs(vms []string, r DrainRequest) error
	// ResumeVMs undoes DrainVMs for the named workers.
	ResumeVMs(vms []string) error
	// Replace has target (a worker, golden.POOL or box.NAME) and everything built on it
	// replaced, each worker after its running job.
	Replace(target string) error
	// Restart rolls the named workers back to their ready snapshot after their running job,
	// or at once with force (the job is canceled and requeued).
	Restart(vms []string, force bool) error
}

// ErrAgentRunning is returned by Listen when another agent answers on the socket.
var ErrAgentRunning = errors.New("control: another agent is serving this state_dir")

// maxRequest bounds one request line; real ones are under 200 bytes.
const maxRequest = 64 << 10

// Server serves the control socket.
type Server struct {
	path    string
	ln      *net.UnixListener
	h       Handler
	log     *slog.Logger
	owner   int // uid served besides root; the daemon's effective uid
	allowFn func(uid int) bool
}

// Listen creates the socket at path, mode 0600, owned by the calling process's user. A stale
// socket left by a dead agent is replaced; a live one is ErrAgentRunning. The socket is made in
// a private folder and renamed into place, so it is never reachable with a looser mode.
func Listen(path string, h Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("listen %s: %w", path, ErrAgentRunning)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".sock-")
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	return &Server{path: path, ln: ln, h: h, log: log, owner: os.Geteuid()}, nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// allowed reports whether a peer with uid may use the socket: root and the socket's owner.
func (s *Server) allowed(uid int) bool {
	if s.allowFn != nil {
		return s.allowFn(uid)
	}
	return uid == 0 || uid == s.owner
}

// Serve accepts connections until ctx ends, then closes the listener, removes the socket,
// ends every open connection and waits for their goroutines.
func (s *Server) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	defer os.Remove(s.path)
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			s.log.Warn("control_accept_failed", "err", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c)
		}()
	}
}

// peerUID reads the connecting process's uid with SO_PEERCRED.
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return -1, err
	}
	if serr != nil {
		return -1, serr
	}
	return int(cred.Uid), nil
}

func (s *Server) serveConn(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(cctx, func() { c.Close() })
	defer stop()
	enc := json.NewEncoder(c)
	reply := func(r Response) bool { return enc.Encode(r) == nil }

	uid, err := peerUID(c)
	if err != nil || !s.allowed(uid) {
		s.log.Warn("control_peer_refused", "uid", uid, "err", err)
		reply(Response{Done: true, Error: fmt.Sprintf("permission denied: uid %d is not the agent's user (uid %d) or root", uid, s.owner)})
		return
	}
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), maxRequest)
	if !sc.Scan() {
		return
	}
	req, err := ParseRequest(sc.Bytes())
	if err != nil {
		reply(Response{Done: true, Error: err.Error()})
		return
	}
	vh, vmOK := s.h.(VMHandler)
	if !vmOK && (len(req.VMs) > 0 || req.Op == OpReplace || req.Op == OpRestart) {
		reply(Response{Done: true, Error: fmt.Sprintf("op %q on single VMs is not supported by this agent", req.Op)})
		return
	}
	switch req.Op {
	case OpStatus:
		st := s.h.Status()
		reply(Response{Done: true, Status: &st})
	case OpResume, OpReplace, OpRestart:
		var err error
		switch {
		case req.Op == OpReplace:
			err = vh.Replace(req.Target)
		case req.Op == OpRestart:
			err = vh.Restart(req.VMs, req.Force)
		case len(req.VMs) > 0:
			err = vh.ResumeVMs(req.VMs)
		default:
			err = s.h.Resume()
		}
		if err != nil {
			reply(Response{Done: true, Error: err.Error()})
			return
		}
		st := s.h.Status()
		reply(Response{Done: true, Status: &st})
	case OpDrain:
		if len(req.VMs) > 0 {
			if err := vh.DrainVMs(req.VMs, *req.Drain); err != nil {
				reply(Response{Done: true, Error: err.Error()})
				return
			}
			if !req.Drain.Wait {
				st := s.h.Status()
				reply(Response{Done: true, Status: &st})
				return
			}
			s.waitIdle(cctx, reply, req.VMs)
			return
		}
		if err := s.h.Drain(*req.Drain); err != nil {
			reply(Response{Done: true, Error: err.Error()})
			return
		}
		if !req.Drain.Wait {
			st := s.h.Status()
			reply(Response{Done: true, Status: &st})
			return
		}
		s.waitIdle(cctx, reply, nil)
	}
}

// waitIdle sends a progress response at every status change until no job runs, then a final
// one. It ends early, without a final response, when the connection or server ends.
// With vms, only their jobs count, and it ends when one of them is resumed.
func (s *Server) waitIdle(ctx context.Context, reply func(Response) bool, vms []string) {
	last := -1
	for {
		changed := s.h.Changed()
		st := s.h.Status()
		n, draining := st.Running(), st.Draining
		if len(vms) > 0 {
			n, draining = runningOn(&st, vms)
		}
		if n == 0 || !draining {
			reply(Response{Done: true, Status: &st})
			return
		}
		if n != last {
			if !reply(Response{Status: &st}) {
				return
			}
			last = n
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// runningOn counts the jobs running on vms and reports whether all of them are still drained.
func runningOn(st *Status, vms []string) (running int, drained bool) {
	drained = true
	for _, name := range vms {
		for _, v := range st.VMs {
			if v.Name != name {
				continue
			}
			if v.Job != nil {
				running++
			}
			drained = drained && v.Drained
		}
	}
	return running, drained
}
