// Package redistest starts a real, throw-away redis-server for tests.
//
// The server is Debian's /usr/bin/redis-server (or the first redis-server on
// PATH), bound to 127.0.0.1 on a free port, with persistence disabled and its
// working directory in the test's temp dir (StartPersistent: with an
// append-only file, for tests that Kill and Restart it). It is killed in
// t.Cleanup. A test
// is skipped, with a message that says why, only when no redis-server binary
// can be found; a binary that exists but fails to start fails the test.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultBinary is where Debian's redis-server package installs the server.
const DefaultBinary = "/usr/bin/redis-server"

// Server is one running redis-server owned by a test.
type Server struct {
	// Addr is the server's host:port on 127.0.0.1.
	Addr string
	// URL is a redis:// URL for Addr, database 0.
	URL string
	// Dir is the server's working directory; redis.log is written there.
	Dir string
	// Username and Password are the ACL user a StartACL server requires;
	// empty for Start.
	Username, Password string

	tb      testing.TB
	bin     string
	port    int
	opts    options
	mu      sync.Mutex
	stopped bool
	stop    func() // kills the running process; guarded by mu
}

// options are the ways a test's server may differ from the default.
type options struct {
	acl        ACL
	persistent bool     // appendonly yes, appendfsync always
	replicaOf  string   // host:port of the primary this server replicates
	sentinel   []string // lines of a sentinel config: run as redis-server --sentinel
}

// ACL describes the one ACL user a StartACL server lets in.
type ACL struct {
	Username, Password string
}

// Binary returns the path of the redis-server binary, or "" when none exists.
func Binary() string {
	if p := os.Getenv("REDIS_SERVER"); p != "" {
		return p
	}
	if _, err := os.Stat(DefaultBinary); err == nil {
		return DefaultBinary
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	return ""
}

// Start starts a redis-server for tb and waits until it answers PING.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return startServer(tb, options{})
}

// StartPersistent starts a redis-server that keeps its data in an
// append-only file synced on every write (appendonly yes, appendfsync
// always), so that Kill and Restart lose nothing acknowledged, as a
// production Redis with persistence.
func StartPersistent(tb testing.TB) *Server {
	tb.Helper()
	return startServer(tb, options{persistent: true})
}

// StartReplica starts a redis-server that replicates primary (replicaof), and waits until
// the initial sync is done, so that a Sentinel can promote it.
func StartReplica(tb testing.TB, primary *Server) *Server {
	tb.Helper()
	s := startServer(tb, options{replicaOf: primary.Addr})
	c := s.Client(tb)
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, err := c.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redistest: replica %s did not sync with %s within 15s: %v %s", s.Addr, primary.Addr, err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StartSentinel starts a Redis Sentinel (redis-server --sentinel) on loopback that monitors
// primary under the name master with a quorum of 1, judging it down after downAfter and
// failing over at once. It waits until the Sentinel knows every replica in replicas.
func StartSentinel(tb testing.TB, master string, primary *Server, downAfter time.Duration, replicas ...*Server) *Server {
	tb.Helper()
	host, port, _ := net.SplitHostPort(primary.Addr)
	ms := strconv.FormatInt(downAfter.Milliseconds(), 10)
	s := startServer(tb, options{sentinel: []string{
		"sentinel monitor " + master + " " + host + " " + port + " 1",
		"sentinel down-after-milliseconds " + master + " " + ms,
		"sentinel failover-timeout " + master + " " + strconv.FormatInt(4*downAfter.Milliseconds(), 10),
		"sentinel parallel-syncs " + master + " 1",
	}})
	c := s.Client(tb)
	deadline := time.Now().Add(30 * time.Second)
	for {
		known, err := c.Do(context.Background(), "SENTINEL", "REPLICAS", master).Slice()
		if err == nil && len(known) >= len(replicas) {
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("redistest: sentinel %s learned %d of %d replicas within 30s: %v", s.Addr, len(known), len(replicas), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill stops the server with SIGKILL, as a crash would. Commands fail (connection refused)
// until Restart.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.stop()
		s.stopped = true
	}
}

// Restart starts the server again on the same port and directory, after
// Kill (or kills it first), and waits until it answers PING. A persistent
// server comes back with its data.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Kill()
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	// The port was just freed; a few tries cover a slow release.
	for range 5 {
		var n *Server
		n, err = start(s.tb, s.bin, s.Dir, s.port, s.opts)
		if err == nil {
			s.stop, s.stopped = n.stop, false
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.tb.Fatalf("redistest: restart on port %d: %v", s.port, err)
}

// StartACL starts a redis-server whose default user is disabled: every
// command needs AUTH as acl.Username with acl.Password. The user is defined
// in a config file in the server's directory, never on its command line,
// so the password is not visible in ps.
func StartACL(tb testing.TB, acl ACL) *Server {
	tb.Helper()
	if acl.Username == "" || acl.Password == "" {
		tb.Fatal("redistest: StartACL needs a username and a password")
	}
	return startServer(tb, options{acl: acl})
}

func startServer(tb testing.TB, opts options) *Server {
	tb.Helper()
	bin := Binary()
	if bin == "" {
		tb.Skip("redistest: no redis-server found at " + DefaultBinary +
			" or on PATH; install Debian's redis-server package (apt-get install redis-server)")
	}
	dir := tb.TempDir()
	var lastErr error
	// A free port can be taken by someone else between probing and binding,
	// so a failed start is retried on a fresh port a few times.
	for range 5 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("redistest: find free port: %v", err)
		}
		s, err := start(tb, bin, dir, port, opts)
		if err == nil {
			tb.Cleanup(s.Kill)
			return s
		}
		lastErr = err
	}
	tb.Fatalf("redistest: start %s: %v", bin, lastErr)
	return nil
}

// start runs one redis-server process; the caller owns its Kill.
func start(tb testing.TB, bin, dir string, port int, opts options) (*Server, error) {
	acl := opts.acl
	logPath := filepath.Join(dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close()
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--daemonize", "no",
		"--dir", dir,
	}
	if opts.persistent {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	if opts.replicaOf != "" {
		h, p, _ := net.SplitHostPort(opts.replicaOf)
		args = append(args, "--replicaof", h, p)
	}
	if opts.sentinel != nil {
		// A Sentinel rewrites its config file: it lives in the server's directory.
		conf := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(conf, []byte(strings.Join(opts.sentinel, "\n")+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write sentinel config: %w", err)
		}
		args = append([]string{conf, "--sentinel"}, args...)
	}
	if acl.Username != "" {
		conf := filepath.Join(dir, "acl.conf")
		body := "user default off\n" +
			"user " + acl.Username + " on >" + acl.Password + " ~* &* +@all\n"
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return nil, fmt.Errorf("write config: %w", err)
		}
		// The config file must be the first argument.
		args = append([]string{conf}, args...)
	}
	cmd := exec.Command(bin, args...)
	// The server must not inherit the test's stdout/stderr: go test would
	// wait on the pipe.
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second,
		Username: acl.Username, Password: acl.Password})
	defer rdb.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			break
		}
		select {
		case werr := <-exited:
			exited <- werr
			log, _ := os.ReadFile(logPath)
			stop()
			return nil, fmt.Errorf("redis-server exited (%v): %s", werr, lastLines(log, 5))
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("redis-server did not answer PING within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &Server{Addr: addr, URL: "redis://" + addr + "/0", Dir: dir, Username: acl.Username, Password: acl.Password,
		tb: tb, bin: bin, port: port, opts: opts, stop: stop}, nil
}

// Client returns a go-redis client for s that is closed in tb's cleanup.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, Username: s.Username, Password: s.Password})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			lines++
			if lines > n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}
