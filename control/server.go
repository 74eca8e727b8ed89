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
	switch req.Op {
	case OpStatus:
		st := s.h.Status()
		reply(Response{Done: true, Status: &st})
	case OpResume:
		if err := s.h.Resume(); err != nil {
			reply(Response{Done: true, Error: err.Error()})
			return
		}
		st := s.h.Status()
		reply(Response{Done: true, Status: &st})
	case OpDrain:
		if err := s.h.Drain(*req.Drain); err != nil {
			reply(Response{Done: true, Error: err.Error()})
			return
		}
		if !req.Drain.Wait {
			st := s.h.Status()
			reply(Response{Done: true, Status: &st})
			return
		}
		s.waitIdle(cctx, reply)
	}
}

// waitIdle sends a progress response at every status change until no job runs, then a final
// one. It ends early, without a final response, when the connection or server ends.
func (s *Server) waitIdle(ctx context.Context, reply func(Response) bool) {
	last := -1
	for {
		changed := s.h.Changed()
		st := s.h.Status()
		n := st.Running()
		if n == 0 || !st.Draining {
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
