package control

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

// clientEnv makes the test binary act as a control client (see TestMain): it sends a status
// request to the socket named by the variable and prints the error, if any.
const clientEnv = "CONTROL_TEST_CLIENT_SOCKET"

func TestMain(m *testing.M) {
	if sock := os.Getenv(clientEnv); sock != "" {
		_, err := Call(context.Background(), sock, Request{Op: OpStatus}, nil)
		if err != nil {
			os.Stdout.WriteString(err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// fakeHandler is a Handler whose running-job count the test sets.
type fakeHandler struct {
	mu       sync.Mutex
	st       Status
	drains   []DrainRequest
	resumes  int
	changed  chan struct{}
	drainErr error
}

func newFake() *fakeHandler {
	return &fakeHandler{st: Status{Host: "h1"}, changed: make(chan struct{})}
}

func (f *fakeHandler) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	st.VMs = append([]VMStatus(nil), f.st.VMs...)
	return st
}

func (f *fakeHandler) Drain(r DrainRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.drainErr != nil {
		return f.drainErr
	}
	f.drains = append(f.drains, r)
	f.st.Draining = true
	return nil
}

func (f *fakeHandler) Resume() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumes++
	f.st.Draining = false
	return nil
}

func (f *fakeHandler) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// setJobs makes n VMs run a job and signals the change.
func (f *fakeHandler) setJobs(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.VMs = nil
	for i := range n {
		f.st.VMs = append(f.st.VMs, VMStatus{Name: "vm" + string(rune('a'+i)), Job: &JobStatus{ID: "j"}})
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// serve starts a server for h in a fresh folder and returns it; it stops at test cleanup.
func serve(t testing.TB, h Handler, setup ...func(*Server)) *Server {
	t.Helper()
	dir := t.TempDir()
	s, err := Listen(filepath.Join(dir, SocketName), h, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func TestRequests(t *testing.T) {
	cases := []struct {
		name       string
		req        Request
		wantDrains []DrainRequest
		wantResume int
		wantDrain  bool
	}{
		{"status changes nothing", Request{Op: OpStatus}, nil, 0, false},
		{"drain with deadline", Request{Op: OpDrain, Drain: &DrainRequest{Deadline: Duration(time.Hour)}},
			[]DrainRequest{{Deadline: Duration(time.Hour)}}, 0, true},
		{"drain without arguments", Request{Op: OpDrain}, []DrainRequest{{}}, 0, true},
		{"resume", Request{Op: OpResume}, nil, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newFake()
			s := serve(t, h)
			r, err := Call(context.Background(), s.Path(), c.req, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status == nil || r.Status.Host != "h1" || r.Status.Draining != c.wantDrain {
				t.Errorf("status = %+v, want host h1 draining %v", r.Status, c.wantDrain)
			}
			if diff := cmp.Diff(c.wantDrains, h.drains); diff != "" {
				t.Errorf("drains (-want +got):\n%s", diff)
			}
			if h.resumes != c.wantResume {
				t.Errorf("resumes = %d, want %d", h.resumes, c.wantResume)
			}
		})
	}
}

func TestDrainFailureIsReported(t *testing.T) {
	h := newFake()
	h.drainErr = errors.New("write drain state: disk full")
	s := serve(t, h)
	_, err := Call(context.Background(), s.Path(), Request{Op: OpDrain}, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want ErrRefused carrying the handler's error", err)
	}
}

// TestDrainWaitStreamsUntilIdle proves `drain --wait` reports progress and returns only once
// no job runs.
func TestDrainWaitStreamsUntilIdle(t *testing.T) {
	h := newFake()
	h.setJobs(2)
	s := serve(t, h)
	progress := make(chan int, 10)
	done := make(chan Response, 1)
	go func() {
		r, err := Call(context.Background(), s.Path(), Request{Op: OpDrain, Drain: &DrainRequest{Wait: true}},
			func(r Response) { progress <- r.Status.Running() })
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	expect := func(want int) {
		t.Helper()
		select {
		case got := <-progress:
			if got != want {
				t.Fatalf("progress: %d jobs running, want %d", got, want)
			}
		case <-done:
			t.Fatalf("drain --wait returned while %d jobs run", want)
		case <-time.After(10 * time.Second):
			t.Fatalf("no progress report for %d jobs", want)
		}
	}
	expect(2)
	h.setJobs(1)
	expect(1)
	h.setJobs(0)
	select {
	case r := <-done:
		if !r.Done || r.Status.Running() != 0 {
			t.Errorf("final response = %+v, want done with no jobs", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("drain --wait did not return once idle")
	}
}

func TestSocketIsOwnerOnly(t *testing.T) {
	s := serve(t, newFake())
	st, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Type() != os.ModeSocket || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want a socket with 0600", st.Mode())
	}
	if entries, _ := os.ReadDir(filepath.Dir(s.Path())); len(entries) != 1 {
		t.Errorf("state dir holds %d entries, want only the socket (no temp folder left)", len(entries))
	}
}

func TestListenReplacesStaleSocketButNotALiveOne(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	// A stale socket: bound, then its listener gone without unlinking, as after SIGKILL.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	s, err := Listen(path, newFake(), nil)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	if _, err := Listen(path, newFake(), nil); !errors.Is(err, ErrAgentRunning) {
		t.Errorf("second Listen = %v, want ErrAgentRunning", err)
	}
	cancel()
	<-done
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket still there after Serve returned: %v", err)
	}
	if _, err := Call(context.Background(), path, Request{Op: OpStatus}, nil); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Call with no agent = %v, want ErrNotRunning", err)
	}
}

func TestBadRequestsAreRefused(t *testing.T) {
	s := serve(t, newFake())
	cases := []struct{ name, line, want string }{
		{"not json", "hello\n", "parse request"},
		{"unknown op", `{"op":"reboot"}` + "\n", `unknown op`},
		{"negative deadline", `{"op":"drain","drain":{"deadline":"-1h"}}` + "\n", "negative"},
		{"replace without target", `{"op":"replace"}` + "\n", "exactly one target"},
		{"restart without VMs", `{"op":"restart","force":true}` + "\n", "at least one VM"},
		{"force outside restart", `{"op":"resume","force":true}` + "\n", "takes no force"},
		{"target outside replace", `{"op":"drain","target":"ruby-1"}` + "\n", "takes no target"},
		{"empty VM name", `{"op":"drain","vms":[""]}` + "\n", "empty VM name"},
		{"single VMs without a VM handler", `{"op":"drain","vms":["ruby-1"]}` + "\n", "not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("unix", s.Path())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, c.line)
			b, _ := io.ReadAll(conn)
			if !strings.Contains(string(b), c.want) || !strings.Contains(string(b), `"done":true`) {
				t.Errorf("response %s, want a final error containing %q", b, c.want)
			}
		})
	}
}

// TestOtherUsersAreRefused proves the SO_PEERCRED check: with the file mode opened up, a
// process of another uid still gets nothing but "permission denied", while root is served.
// It runs the test binary as uid 65534 and so needs root.
func TestOtherUsersAreRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	h := newFake()
	// The socket belongs to someone else; the test (root) is still served.
	s := serve(t, h, func(s *Server) { s.owner = 12345 })
	os.Chmod(s.Path(), 0o666)
	os.Chmod(filepath.Dir(s.Path()), 0o755)
	for d := filepath.Dir(filepath.Dir(s.Path())); d != "/"; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			os.Chmod(d, st.Mode().Perm()|0o011)
		}
	}
	bin := filepath.Join(filepath.Dir(s.Path()), "client.test")
	self, _ := os.Executable()
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		uid     uint32
		wantErr string
	}{
		{"another user is refused", 65534, "permission denied: uid 65534"},
		{"the owner is served", 12345, ""},
		{"root is served", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), clientEnv+"="+s.Path())
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: c.uid, Gid: c.uid}}
			out, err := cmd.Output()
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("client as uid %d: %v: %s", c.uid, err, out)
				}
				return
			}
			if err == nil || !strings.Contains(string(out), c.wantErr) {
				t.Fatalf("client as uid %d: err %v, output %q; want refusal %q", c.uid, err, out, c.wantErr)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"op":"status"}`, `{"op":"drain","drain":{"deadline":"1h","force":true,"wait":true}}`,
		`{"op":"resume"}`, `{"op":"drain","drain":{"deadline":"-5s"}}`, `{}`, `[`, `{"op":"drain","vms":["ruby-1"]}`,
		`{"op":"replace","target":"golden.ruby"}`, `{"op":"restart","vms":["ruby-1"],"force":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		switch r.Op {
		case OpStatus, OpResume, OpReplace, OpRestart:
			if r.Drain != nil {
				t.Errorf("op %s accepted with drain arguments", r.Op)
			}
			if (r.Op == OpReplace) != (r.Target != "") || (r.Op == OpRestart && len(r.VMs) == 0) {
				t.Errorf("op %s accepted with target %q and VMs %q", r.Op, r.Target, r.VMs)
			}
		case OpDrain:
			if r.Drain == nil || r.Drain.Deadline < 0 {
				t.Errorf("drain accepted with %+v", r.Drain)
			}
		default:
			t.Errorf("unknown op %q accepted", r.Op)
		}
	})
}
