package main

// The end-to-end harness: the real `agent` binary started as a process, against the
// VirtualBox simulator (simtest) and a real redis-server (redistest). Jobs wait for release
// files, so a test decides when each ends without timing anything.

import (
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

	"github.com/fleet-agent/fleet/chef/chefsim"
	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/internal/ports/portstest"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile/boxcache"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
	"github.com/fleet-agent/fleet/vbox/vboxsim/simtest"
)

var (
	agentBinOnce sync.Once
	agentBinPath string
	agentBinErr  error
)

// agentBinary builds the agent once per test process, into a folder every user may read (the
// socket test runs it as nobody).
func agentBinary(t *testing.T) string {
	t.Helper()
	agentBinOnce.Do(func() {
		dir, err := os.MkdirTemp("/var/tmp", "fleet-agent-bin-")
		if err != nil {
			agentBinErr = err
			return
		}
		os.Chmod(dir, 0o755)
		agentBinPath = filepath.Join(dir, "agent")
		out, err := exec.Command("go", "build", "-o", agentBinPath, ".").CombinedOutput()
		if err != nil {
			agentBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if agentBinErr != nil {
		t.Fatal(agentBinErr)
	}
	return agentBinPath
}

// host is one simulated build host running the agent.
type host struct {
	t        *testing.T
	sim      *simtest.Sim
	redis    *redistest.Server
	dir      string // fleet.hcl, boxes, cookbooks, logs
	shared   string // outside /tmp, seen by guests: release files, the repository
	stateDir string
	ports    [2]int
	bin      string
	fleet    string // fleet.hcl path
	tq       *queue.Client
	repoURL  string
	commit   string

	proc    *exec.Cmd
	procN   int
	exited  chan struct{} // closed when the agent process has been waited for
	logPath string
}

// fleetCfg is what a test varies in fleet.hcl.
type fleetCfg struct {
	vms     int
	recipes []string
	maxUnav int
}

func newHost(t *testing.T) *host {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	h := &host{t: t, sim: simtest.New(t), redis: redistest.Start(t), dir: t.TempDir(), bin: agentBinary(t)}
	shared, err := os.MkdirTemp("/var/tmp", "fleet-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shared) })
	h.shared = shared
	h.stateDir = filepath.Join(h.dir, "state")
	h.ports = portstest.Range(t)
	ovf := h.sim.MakeBox(t, vboxsim.BoxOptions{AuthorizedKeys: []byte(guest.VagrantInsecurePublicKey + "\n"),
		Bins: []string{chefsim.Binary(t)}})
	f, err := os.Create(filepath.Join(h.dir, "lucid32.box"))
	if err != nil {
		t.Fatal(err)
	}
	if err := boxcache.Pack(f, filepath.Dir(ovf)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for path, body := range map[string]string{
		"cookbooks/git/metadata.rb":        "name \"git\"\nversion \"1.0.0\"\n",
		"cookbooks/git/recipes/default.rb": "log \"git installed\"\n",
		"cookbooks/rvm/metadata.rb":        "name \"rvm\"\nversion \"1.0.0\"\n",
		"cookbooks/rvm/recipes/multi.rb":   "log \"rubies installed\"\n",
	} {
		writeFile(t, h.dir, path, body)
	}
	h.repoURL, h.commit = makeRepo(t, filepath.Join(shared, "repo"))
	tq, err := queue.Open(queue.Config{URL: h.redis.URL, Host: "e2e-submitter"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tq.Close() })
	h.tq = tq
	h.fleet = filepath.Join(h.dir, "fleet.hcl")
	return h
}

// makeRepo creates a git repository with one commit and returns its URL and commit.
func makeRepo(t *testing.T, dir string) (string, string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
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
	git("init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(dir, "README"), []byte("e2e\n"), 0o644)
	git("add", "README")
	git("commit", "-q", "-m", "first")
	return "file://" + dir, git("rev-parse", "HEAD")
}

// render writes fleet.hcl atomically (temp file renamed over), as editors do.
func (h *host) render(c fleetCfg) string {
	if c.recipes == nil {
		c.recipes = []string{"git"}
	}
	if c.maxUnav == 0 {
		c.maxUnav = 1
	}
	return fmt.Sprintf(`host {
  name      = "e2e-host"
  state_dir = %q
}
virtualbox {
  manage         = %q
  max_parallel   = 4
  ssh_port_range = [%d, %d]
}
queue { redis = %q }
reconcile { resync = "5s" }
box "lucid32" {
  version = "2.0.0"
  url     = "file://%s/lucid32.box"
}
pool "ruby" {
  box    = "lucid32"
  vms    = %d
  memory = 256
  queues = ["builds"]
  provision "chef_solo" {
    cookbooks = ["cookbooks"]
    recipes   = ["%s"]
  }
  job {
    timeout     = "90s"
    log_silence = "90s"
  }
  rollout { max_unavailable = %d }
}
`, h.stateDir, h.sim.Bin, h.ports[0], h.ports[1], h.redis.URL, h.dir, c.vms, strings.Join(c.recipes, `", "`), c.maxUnav)
}

func (h *host) write(c fleetCfg) { h.writeRaw(h.render(c)) }

func (h *host) writeRaw(s string) {
	h.t.Helper()
	writeAtomic(h.t, h.fleet, s)
}

// writeAtomic replaces path with content through a temp file renamed over it, as editors do.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// start starts `agent run`; its output goes to a log file in the test's folder.
func (h *host) start() {
	h.t.Helper()
	h.procN++
	h.proc, h.exited, h.logPath = startAgentRun(h.t, h.bin, h.fleet, h.dir, h.procN, h.sim.Env())
}

// startAgentRun starts `agent run -c fleet` in its own process group, with env added to the
// test's, and its output in dir/agent-N.log. exited closes once the process has been waited
// for. Cleanup kills the whole group and, when the test failed, prints the log's end (and keeps
// the log in $FLEET_E2E_KEEP_LOGS when set).
func startAgentRun(t *testing.T, bin, fleet, dir string, n int, env []string) (proc *exec.Cmd, exited chan struct{}, logPath string) {
	t.Helper()
	logPath = filepath.Join(dir, fmt.Sprintf("agent-%d.log", n))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-c", fleet, "--log-format", "text", "--log-level", "debug")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	exited = make(chan struct{})
	go func() {
		defer close(exited)
		cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if keep := os.Getenv("FLEET_E2E_KEEP_LOGS"); keep != "" {
				os.WriteFile(filepath.Join(keep, filepath.Base(t.Name())+"-"+filepath.Base(logPath)), b, 0o644)
			}
			t.Logf("agent log %s:\n%s", logPath, tail(string(b), 8000))
		}
	})
	return cmd, exited, logPath
}

func tail(s string, n int) string {
	if len(s) > n {
		return "...\n" + s[len(s)-n:]
	}
	return s
}

// signal sends sig to the agent.
func (h *host) signal(sig syscall.Signal) {
	if err := h.proc.Process.Signal(sig); err != nil {
		h.t.Fatal(err)
	}
}

// waitExit waits for the agent to exit and returns its exit code.
func (h *host) waitExit() int {
	h.t.Helper()
	select {
	case <-h.exited:
	case <-time.After(60 * time.Second):
		h.t.Fatal("agent did not exit within 60s")
	}
	return h.proc.ProcessState.ExitCode()
}

// status asks the running agent.
func (h *host) status() (*control.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := control.Call(ctx, filepath.Join(h.stateDir, control.SocketName), control.Request{Op: control.OpStatus}, nil)
	if err != nil {
		return nil, err
	}
	return r.Status, nil
}

// until polls the agent's status until cond holds, for up to 60s.
func (h *host) until(what string, cond func(*control.Status) bool) *control.Status {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last *control.Status
	var lastErr error
	for time.Now().Before(deadline) {
		st, err := h.status()
		if err == nil {
			last = st
			if cond(st) {
				return st
			}
		}
		lastErr = err
		select {
		case <-h.exited:
			h.t.Fatalf("%s: agent exited", what)
		case <-time.After(150 * time.Millisecond):
		}
	}
	h.t.Fatalf("%s: not within 60s (last error %v); status %+v", what, lastErr, last)
	return nil
}

// serving lists the workers that fetch, sorted.
func servingVMs(st *control.Status) []string {
	var out []string
	for _, v := range st.VMs {
		if v.Role == "worker" && v.Serving {
			out = append(out, v.Name)
		}
	}
	return out
}

func vmNamed(st *control.Status, name string) *control.VMStatus {
	for i := range st.VMs {
		if st.VMs[i].Name == name {
			return &st.VMs[i]
		}
	}
	return nil
}

// submit enqueues job id whose script waits for its release file, then writes a trace line
// into the guest's home (which rollback must remove).
func (h *host) submit(id string) {
	h.t.Helper()
	rel := filepath.Join(h.shared, "release-"+id)
	_, err := h.tq.Submit(context.Background(), "builds", queue.Args{
		ID: id, Repository: queue.Repository{Slug: "fleet/e2e", URL: h.repoURL}, Commit: h.commit, Branch: "main",
		Script: []string{
			"echo " + id + " > $HOME/dirty-" + id,
			fmt.Sprintf("while [ ! -f %s ]; do sleep 0.1; done", rel),
			"echo done " + id,
		},
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// release lets job id finish.
func (h *host) release(id string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.shared, "release-"+id), nil, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// job reads job id's record.
func (h *host) job(id string) queue.Status {
	h.t.Helper()
	st, err := h.tq.JobStatus(context.Background(), id)
	if err != nil && !errors.Is(err, queue.ErrJobNotFound) {
		h.t.Fatal(err)
	}
	return st
}

// waitJob waits until job id is in state want.
func (h *host) waitJob(id string, want queue.State) queue.Status {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if st := h.job(id); st.State == want {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("job %s: not %s within 60s (now %+v)", id, want, h.job(id))
	return queue.Status{}
}

// runningJob returns the VM running job id in st, or "".
func runningOn(st *control.Status, id string) string {
	for _, v := range st.VMs {
		if v.Job != nil && v.Job.ID == id {
			return v.Name
		}
	}
	return ""
}

// cli runs the agent binary with args (not the daemon) and returns exit code and output.
func (h *host) cli(args ...string) (int, string) {
	h.t.Helper()
	cmd := exec.Command(h.bin, args...)
	cmd.Env = append(os.Environ(), h.sim.Env()...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		h.t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// vmNames lists the simulator's VMs.
func (h *host) vmNames() []string {
	out, _, _ := h.sim.Run(h.t, "list", "vms")
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if i := strings.IndexByte(l, '"'); i >= 0 {
			if j := strings.IndexByte(l[i+1:], '"'); j >= 0 {
				names = append(names, l[i+1:i+1+j])
			}
		}
	}
	return names
}

// waitFile waits until path exists.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not appear within 60s", path)
}

// TestMain removes the agent binary built for the end-to-end tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if agentBinPath != "" {
		os.RemoveAll(filepath.Dir(agentBinPath))
	}
	os.Exit(code)
}
