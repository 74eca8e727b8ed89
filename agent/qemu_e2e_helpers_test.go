package main

// The real-VM end-to-end harness: the real `agent` binary with a qemu pool of the tiny guest
// that qemu/imagebuild makes from Debian packages, a real redis-server, and an HTTP server on
// 127.0.0.1 that the guests reach as the pool's one host service (network.host_services, at
// 127.0.0.1 on the same port inside the guest; 10.0.2.2 is not the host): it serves the jobs'
// repository (as the test guest's git stand-in fetches it) and the release marks that let a
// test decide when a job ends. Skipped, with the reason, when QEMU or the image tools are
// missing (scripts/qemu-deps.sh installs them).

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/qemu"
	"github.com/fleet-agent/fleet/qemu/imagebuild"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile/boxcache"
)

// e2eReadme is the repository's README: a job that prints it proves the clone reached the guest.
const e2eReadme = "fleet e2e repository on a real VM\n"

var (
	qemuImageOnce sync.Once
	qemuImage     *imagebuild.Image
	qemuImageErr  error
)

// qemuTestImage builds the guest once per test binary (cached across runs), with a static
// chef-solo simulator as /usr/bin/chef-solo so goldens are really provisioned over SSH.
func qemuTestImage(t *testing.T) *imagebuild.Image {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 not installed (scripts/qemu-deps.sh installs it)")
	}
	if m := imagebuild.Missing(); len(m) > 0 {
		t.Skipf("image build tools missing (scripts/qemu-deps.sh installs them): %v", m)
	}
	qemuImageOnce.Do(func() {
		dir := filepath.Dir(agentBinary(t))
		chef := filepath.Join(dir, "chef-solo")
		cmd := exec.Command("go", "build", "-trimpath", "-o", chef, "github.com/fleet-agent/fleet/chef/cmd/chef-solo-sim")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			qemuImageErr = fmt.Errorf("go build chef-solo-sim: %v\n%s", err, out)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		qemuImage, qemuImageErr = imagebuild.Build(ctx, imagebuild.Options{
			Extra: map[string]imagebuild.File{"/usr/bin/chef-solo": {Src: chef}},
		})
	})
	if qemuImageErr != nil {
		t.Fatal(qemuImageErr)
	}
	return qemuImage
}

// qhost is one build host running the agent with a qemu pool.
type qhost struct {
	t        *testing.T
	dir      string
	stateDir string
	fleet    string
	bin      string
	redisURL string
	ports    [2]int
	boxFile  string
	img      *imagebuild.Image
	tq       *queue.Client
	web      string // http://127.0.0.1:PORT as guests see the test server (a host service)
	webAddr  string // the test server's 127.0.0.1:PORT on the host

	mu       sync.Mutex
	released map[string]bool // guarded by mu

	proc    *exec.Cmd
	procN   int
	exited  chan struct{}
	logPath string
}

func newQHost(t *testing.T) *qhost {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test on real VMs")
	}
	img := qemuTestImage(t)
	h := &qhost{t: t, dir: t.TempDir(), bin: agentBinary(t), img: img, released: map[string]bool{}}
	h.stateDir = filepath.Join(h.dir, "state")
	h.fleet = filepath.Join(h.dir, "fleet.hcl")
	h.redisURL = redistest.Start(t).URL
	lo := 33000 + int(time.Now().UnixNano()%200)*100
	h.ports = [2]int{lo, lo + 99}
	t.Cleanup(func() { killQEMUVMs(h.stateDir) }) // qemu outlives the agent by design; the test must not leak it

	h.boxFile = packQEMUBox(t, h.dir, img)
	for path, body := range map[string]string{
		"cookbooks/base/metadata.rb":        "name \"base\"\nversion \"1.0.0\"\n",
		"cookbooks/base/recipes/default.rb": "log \"base installed\"\n",
	} {
		writeFile(t, h.dir, path, body)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h.handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-served })
	h.webAddr = ln.Addr().String()
	h.web = "http://" + h.webAddr

	tq, err := queue.Open(queue.Config{URL: h.redisURL, Host: "e2e-submitter"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tq.Close() })
	h.tq = tq
	return h
}

// packQEMUBox packs img as a QEMU box (box.qcow2, vmlinuz, initrd.img, cmdline) into
// dir/tiny.box and returns its path.
func packQEMUBox(t *testing.T, dir string, img *imagebuild.Image) string {
	t.Helper()
	boxDir := filepath.Join(dir, "qemu-box")
	for src, dst := range map[string]string{img.Disk: qemu.BoxDisk, img.Kernel: qemu.BoxKernel, img.Initrd: qemu.BoxInitrd} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, boxDir, dst, string(b))
	}
	writeFile(t, boxDir, qemu.BoxCmdline, img.Cmdline+"\n")
	path := filepath.Join(dir, "tiny.box")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := boxcache.Pack(f, boxDir); err != nil {
		t.Fatal(err)
	}
	return path
}

// handler serves /repo/archive.tar (the repository) and /release/ID (200 once released).
func (h *qhost) handler() http.Handler {
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	tw.WriteHeader(&tar.Header{Name: "README", Mode: 0o644, Size: int64(len(e2eReadme))})
	tw.Write([]byte(e2eReadme))
	tw.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repo/archive.tar", func(w http.ResponseWriter, _ *http.Request) { w.Write(archive.Bytes()) })
	mux.HandleFunc("GET /release/{id}", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		ok := h.released[r.PathValue("id")]
		h.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
		}
	})
	return mux
}

// write writes fleet.hcl atomically with vms workers in pool q.
func (h *qhost) write(vms int) {
	h.t.Helper()
	src := fmt.Sprintf(`host {
  name      = "e2e-qemu"
  state_dir = %q
}
virtualbox {
  manage         = "/nonexistent/VBoxManage"
  ssh_port_range = [%d, %d]
}
qemu { accel = "auto" }
queue { redis = %q }
reconcile { resync = "2s" }
box "tiny" {
  version = "1"
  url     = "file://%s"
  format  = "qemu"
  ssh {
    user        = %q
    private_key = %q
  }
}
pool "q" {
  box      = "tiny"
  provider = "qemu"
  vms      = %d
  memory   = 256
  queues   = ["builds"]
  provision "chef_solo" {
    cookbooks = ["cookbooks"]
    recipes   = ["base"]
  }
  job {
    timeout     = "90s"
    log_silence = "90s"
  }
  network { host_services = [%q] }
}
`, h.stateDir, h.ports[0], h.ports[1], h.redisURL, h.boxFile, h.img.User, h.img.PrivateKey, vms, h.webAddr)
	writeAtomic(h.t, h.fleet, src)
}

// start starts `agent run` with its output in a log file.
func (h *qhost) start() {
	h.t.Helper()
	h.procN++
	h.proc, h.exited, h.logPath = startAgentRun(h.t, h.bin, h.fleet, h.dir, h.procN, nil)
}

// stop sends SIGTERM and waits for the agent to exit; it returns the exit code.
func (h *qhost) stop() int {
	h.t.Helper()
	h.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(90 * time.Second):
		h.t.Fatal("agent did not exit within 90s of SIGTERM")
	}
	return h.proc.ProcessState.ExitCode()
}

// cli runs the agent binary with args and returns its exit code and output.
func (h *qhost) cli(args ...string) (int, string) {
	h.t.Helper()
	cmd := exec.Command(h.bin, args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		h.t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// until polls the agent's status until cond holds, for up to d.
func (h *qhost) until(what string, d time.Duration, cond func(*control.Status) bool) *control.Status {
	h.t.Helper()
	deadline := time.Now().Add(d)
	var last *control.Status
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := control.Call(ctx, filepath.Join(h.stateDir, control.SocketName), control.Request{Op: control.OpStatus}, nil)
		cancel()
		if err == nil {
			last = r.Status
			if cond(r.Status) {
				return r.Status
			}
		}
		lastErr = err
		select {
		case <-h.exited:
			h.t.Fatalf("%s: agent exited", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
	h.t.Fatalf("%s: not within %v (last error %v); status %+v", what, d, lastErr, last)
	return nil
}

// submit enqueues job id: it fails if any earlier job's file is in the guest's home (the
// sandbox proof), writes its own, checks the cloned repository, and, with wait, waits for its
// release mark on the test server.
func (h *qhost) submit(id string, wait bool) {
	h.t.Helper()
	script := []string{
		`for f in $HOME/dirty-*; do if [ -e "$f" ]; then echo "left by an earlier job: $f"; exit 3; fi; done`,
		"echo " + id + " > $HOME/dirty-" + id + " && sync",
		`grep -q "fleet e2e repository" README || { echo "repository not cloned"; exit 4; }`,
	}
	if wait {
		script = append(script, fmt.Sprintf("until wget -q -O /dev/null %s/release/%s; do sleep 0.2; done", h.web, id))
	}
	_, err := h.tq.Submit(context.Background(), "builds", queue.Args{
		ID: id, Repository: queue.Repository{Slug: "fleet/e2e", URL: h.web + "/repo"}, Commit: "0123456789abcdef", Branch: "main",
		Script: append(script, "echo done "+id),
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *qhost) release(id string) {
	h.mu.Lock()
	h.released[id] = true
	h.mu.Unlock()
}

// waitJob waits until job id is in a final state and returns it.
func (h *qhost) waitJob(id string, d time.Duration) queue.Status {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		st, err := h.tq.JobStatus(context.Background(), id)
		if err == nil && (st.State == queue.StatePassed || st.State == queue.StateFailed || st.State == queue.StateErrored) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	st, _ := h.tq.JobStatus(context.Background(), id)
	h.t.Fatalf("job %s: not finished within %v (now %+v)", id, d, st)
	return queue.Status{}
}

// vmProc is the qemu process recorded in a VM folder's vm.json.
type vmProc struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// procOf reads VM name's recorded process.
func (h *qhost) procOf(name string) vmProc {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.stateDir, "qemu", name, "vm.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	var p vmProc
	if err := json.Unmarshal(b, &p); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// alive reports whether the process runs and is the one recorded (pid and start time).
func (p vmProc) alive() bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/stat")
	if err != nil || p.PID <= 0 {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 19 && fields[0] != "Z" && fields[19] == strconv.FormatUint(p.Start, 10)
}

// vmFolders lists the VM folders in state_dir/qemu.
func (h *qhost) vmFolders() []string { return qemuFolders(h.stateDir) }

func qemuFolders(stateDir string) []string {
	entries, _ := os.ReadDir(filepath.Join(stateDir, "qemu"))
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// killQEMUVMs kills every qemu process still recorded in stateDir.
func killQEMUVMs(stateDir string) {
	for _, name := range qemuFolders(stateDir) {
		b, err := os.ReadFile(filepath.Join(stateDir, "qemu", name, "vm.json"))
		var p vmProc
		if err != nil || json.Unmarshal(b, &p) != nil || !p.alive() {
			continue
		}
		syscall.Kill(p.PID, syscall.SIGKILL)
		for i := 0; i < 500 && p.alive(); i++ {
			time.Sleep(10 * time.Millisecond) // a non-child's exit has no event to wait on
		}
	}
}

// qemuProcs returns the pids of running processes whose command line names a VM folder of this
// host (qemu, and nothing else the agent starts, takes such an argument).
func (h *qhost) qemuProcs() map[int]string {
	return procsNaming(filepath.Join(h.stateDir, "qemu") + "/")
}

// procsNaming lists the live (not zombie) processes whose command line contains path, by pid.
func procsNaming(path string) map[int]string {
	want := []byte(path)
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(b, want) {
			continue
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			s := string(st)
			if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 0 && f[0] == "Z" {
				continue
			}
		}
		out[pid] = string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
	}
	return out
}

// applyKilledWhen runs `agent apply` and kills it with SIGKILL as soon as cond holds (polled),
// failing the test if apply ends first.
func (h *qhost) applyKilledWhen(what string, cond func() bool) {
	h.t.Helper()
	logf, err := os.Create(filepath.Join(h.dir, "apply-killed-"+strings.ReplaceAll(what, " ", "-")+".log"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(h.bin, "apply", "--auto-approve", "-c", h.fleet)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { defer close(exited); cmd.Wait() }()
	defer func() { cmd.Process.Kill(); <-exited }()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			h.t.Fatalf("apply ended before %s:\n%s", what, b)
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not within 2m", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// running reports whether a process runs for the VM folder whose name starts with prefix.
func (h *qhost) running(prefix string) bool {
	needle := filepath.Join(h.stateDir, "qemu", prefix)
	for _, cmdline := range h.qemuProcs() {
		if strings.Contains(cmdline, needle) {
			return true
		}
	}
	return false
}
