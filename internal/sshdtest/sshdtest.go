// Package sshdtest starts a real, throw-away OpenSSH server for tests.
//
// The server is Debian's /usr/sbin/sshd (openssh-server), run in the
// foreground as the current user on a free 127.0.0.1 port. Its sshd_config,
// host key, authorized_keys, PidFile and log live in the test's temp dir; it
// uses StrictModes no and UsePAM no so it needs nothing from /etc/ssh. The
// server and every per-connection process it forked are killed in
// t.Cleanup. A test is skipped, with a message that says why, only when no
// sshd binary can be found; a binary that exists but fails to start fails the
// test.
package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// DefaultBinary is where Debian's openssh-server package installs sshd.
const DefaultBinary = "/usr/sbin/sshd"

// privsepDir is the directory a root sshd insists on (Debian creates it at
// boot through tmpfiles; a container without an init may lack it).
const privsepDir = "/run/sshd"

// Server is one running sshd owned by a test.
type Server struct {
	// Addr is the server's 127.0.0.1:port.
	Addr string
	// User is the login name of the current user, the only user that can log in.
	User string
	// Dir is the server's directory: sshd_config, keys, sshd.pid and sshd.log.
	Dir string
	// HostKey is the public half of the server's ed25519 host key.
	HostKey ssh.PublicKey
	// ClientKey is a fresh ed25519 key listed in the server's authorized_keys.
	ClientKey ssh.Signer

	remoteForwarding bool // AllowTcpForwarding remote instead of no

	cmd    *exec.Cmd
	exited chan struct{}
	mu     sync.Mutex // serializes writes to authorized_keys
}

// Binary returns the path of the sshd binary, or "" when none exists.
func Binary() string {
	if p := os.Getenv("SSHD"); p != "" {
		return p
	}
	if _, err := os.Stat(DefaultBinary); err == nil {
		return DefaultBinary
	}
	return ""
}

// Start starts an sshd for tb and waits until it sends its SSH banner.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, false)
}

// StartRemoteForwarding is Start with remote port forwarding allowed (`ssh -R`, as guests'
// SSH servers allow by default), for tests of forwards into a guest.
func StartRemoteForwarding(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, true)
}

func start(tb testing.TB, remoteForwarding bool) *Server {
	tb.Helper()
	bin := Binary()
	if bin == "" {
		tb.Skip("sshdtest: no sshd found at " + DefaultBinary +
			"; install Debian's openssh-server package (apt-get install openssh-server)")
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll(privsepDir, 0o755); err != nil {
			tb.Fatalf("sshdtest: create %s: %v", privsepDir, err)
		}
	}
	u, err := user.Current()
	if err != nil {
		tb.Fatalf("sshdtest: current user: %v", err)
	}
	s := &Server{User: u.Username, Dir: tb.TempDir(), remoteForwarding: remoteForwarding}
	if err := s.writeKeys(); err != nil {
		tb.Fatalf("sshdtest: %v", err)
	}
	var lastErr error
	// A free port can be taken by someone else between probing and binding,
	// so a failed start is retried on a fresh port a few times.
	for range 5 {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("sshdtest: find free port: %v", err)
		}
		if err = s.start(bin, port); err == nil {
			tb.Cleanup(s.stop)
			return s
		}
		lastErr = err
	}
	tb.Fatalf("sshdtest: start %s: %v", bin, lastErr)
	return nil
}

func (s *Server) writeKeys() error {
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(hostPriv, "sshdtest host key")
	if err != nil {
		return fmt.Errorf("marshal host key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "ssh_host_ed25519_key"), pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return fmt.Errorf("host signer: %w", err)
	}
	s.HostKey = hostSigner.PublicKey()

	_, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate client key: %w", err)
	}
	s.ClientKey, err = ssh.NewSignerFromKey(clientPriv)
	if err != nil {
		return fmt.Errorf("client signer: %w", err)
	}
	return os.WriteFile(s.authorizedKeysPath(), ssh.MarshalAuthorizedKey(s.ClientKey.PublicKey()), 0o600)
}

func (s *Server) authorizedKeysPath() string { return filepath.Join(s.Dir, "authorized_keys") }

func (s *Server) config(port int) string {
	forwarding := "no"
	if s.remoteForwarding {
		forwarding = "remote"
	}
	lines := []string{
		"Port " + strconv.Itoa(port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(s.Dir, "ssh_host_ed25519_key"),
		"PidFile " + filepath.Join(s.Dir, "sshd.pid"),
		"AuthorizedKeysFile " + s.authorizedKeysPath(),
		"StrictModes no",
		"UsePAM no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"AllowUsers " + s.User,
		"UseDNS no",
		"PrintMotd no",
		"PrintLastLog no",
		"X11Forwarding no",
		"AllowTcpForwarding " + forwarding,
		"MaxSessions 64",
		"MaxStartups 64:30:128",
		"LogLevel VERBOSE",
	}
	return strings.Join(lines, "\n") + "\n"
}

func (s *Server) start(bin string, port int) error {
	cfgPath := filepath.Join(s.Dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(s.config(port)), 0o600); err != nil {
		return fmt.Errorf("write sshd_config: %w", err)
	}
	logPath := filepath.Join(s.Dir, "sshd.log")
	_ = os.Remove(logPath)
	// -D stays in the foreground so the test owns the process; -E sends the
	// log to a file so sshd never holds the test's stdout/stderr open.
	cmd := exec.Command(bin, "-D", "-f", cfgPath, "-E", logPath)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	deadline := time.Now().Add(15 * time.Second)
	for {
		if bannerOK(s.Addr) {
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("sshd exited: %s", lastLines(log, 5))
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			return errors.New("sshd did not send its banner within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bannerOK reports whether addr accepts a connection and greets with SSH-2.0.
func bannerOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 8)
	n, _ := c.Read(buf)
	return strings.HasPrefix(string(buf[:n]), "SSH-2.0")
}

// Authorize appends pub to the server's authorized_keys.
func (s *Server) Authorize(tb testing.TB, pub ssh.PublicKey) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.authorizedKeysPath(), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		tb.Fatalf("sshdtest: open authorized_keys: %v", err)
	}
	defer f.Close()
	if _, err := f.Write(ssh.MarshalAuthorizedKey(pub)); err != nil {
		tb.Fatalf("sshdtest: write authorized_keys: %v", err)
	}
}

// Log returns the server's log so far, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "sshd.log"))
	return string(b)
}

// Signal sends sig to the listening sshd and to every process it forked
// (per-connection sshd processes call setsid, so a process-group signal
// would miss them). SIGSTOP freezes the server as a hung VM would: TCP
// connections stay open but nothing answers.
func (s *Server) Signal(sig syscall.Signal) error {
	var errs []error
	for _, pid := range s.Processes() {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("signal %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// Processes returns the pids of the listening sshd and all its descendants,
// the listener first.
func (s *Server) Processes() []int {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	return descendants(s.cmd.Process.Pid)
}

func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	pids := s.Processes()
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	<-s.exited
}

// descendants walks /proc for the process tree rooted at root.
func descendants(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// parentOf reads the parent pid from /proc/PID/stat; the command name in
// parentheses may hold spaces, so the fields after the last ')' are used.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
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
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
