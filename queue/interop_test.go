package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var npmOnce sync.Once
var npmErr error

// nodeResque runs testdata/interop/interop.js in mode against e's server
// and decodes its JSON output into out.
func nodeResque(t *testing.T, e *testEnv, mode string, out any) {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("testdata", "interop"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "interop.js", mode)
	cmd.Dir = dir
	_, port, _ := splitHostPort(e.srv.Addr)
	cmd.Env = append(os.Environ(), "REDIS_PORT="+port)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node interop.js %s: %v\n%s", mode, err, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("node interop.js %s output %s: %v", mode, b, err)
	}
}

func splitHostPort(addr string) (string, string, error) {
	i := bytes.LastIndexByte([]byte(addr), ':')
	if i < 0 {
		return "", "", errors.New("no port")
	}
	return addr[:i], addr[i+1:], nil
}

// needNodeResque installs node-resque into testdata/interop (npm ci) when
// node_modules is missing, once per test process.
func needNodeResque(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed (apt-get install nodejs npm): interop test needs it")
	}
	dir := filepath.Join("testdata", "interop")
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-resque")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = errors.New(string(out))
		}
	})
	if npmErr != nil {
		t.Fatalf("npm ci in %s: %v", dir, npmErr)
	}
}

type nodeInspect struct {
	Workers     map[string]*string         `json:"workers"`
	WorkingOn   map[string]json.RawMessage `json:"workingOn"`
	FailedCount int                        `json:"failedCount"`
	Failed      []struct {
		Worker    string         `json:"worker"`
		Queue     string         `json:"queue"`
		Exception string         `json:"exception"`
		Error     string         `json:"error"`
		Payload   map[string]any `json:"payload"`
	} `json:"failed"`
	Stats map[string]string `json:"stats"`
}

func TestNodeResqueInterop(t *testing.T) {
	needNodeResque(t)
	e := newEnv(t)
	c := e.client(t, Config{PID: 4242})
	s := e.slot(t, c, "0", "builds")
	ctx := fetchCtx(t)

	var enq struct{ Length int }
	nodeResque(t, e, "enqueue", &enq)
	if enq.Length != 3 {
		t.Fatalf("node-resque queue length = %d, want 3", enq.Length)
	}

	// Our worker runs node-resque's first job; node-resque sees it working.
	j1, err := s.Fetch(ctx)
	if err != nil || j1.ID != "node-1" {
		t.Fatalf("fetch: %v %v", j1, err)
	}
	var mid nodeInspect
	nodeResque(t, e, "inspect", &mid)
	name := "build-01:4242-0"
	if d := cmp.Diff(map[string]*string{name: ptr("builds")}, mid.Workers); d != "" {
		t.Errorf("node-resque workers() (-want +got):\n%s", d)
	}
	var on struct {
		Queue   string         `json:"queue"`
		Worker  string         `json:"worker"`
		RunAt   string         `json:"run_at"`
		Payload map[string]any `json:"payload"`
	}
	if err := json.Unmarshal(mid.WorkingOn[name], &on); err != nil {
		t.Fatalf("allWorkingOn()[%s] = %s: %v", name, mid.WorkingOn[name], err)
	}
	if on.Queue != "builds" || on.Worker != name || on.Payload["class"] != JobClass || on.RunAt == "" {
		t.Errorf("allWorkingOn()[%s] = %+v", name, on)
	}
	if err := s.Finish(ctx, j1, Result{State: StatePassed}); err != nil {
		t.Fatal(err)
	}

	// The second job errors; the third payload has the wrong class and is
	// failed by Fetch itself, which then waits for more.
	j2, err := s.Fetch(ctx)
	if err != nil || j2.ID != "node-2" {
		t.Fatalf("fetch: %v %v", j2, err)
	}
	if err := s.Fail(ctx, j2, errors.New("vm ruby-1 did not boot")); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	if _, err := s.Fetch(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch of the wrong-class job: %v, want no job and a deadline", err)
	}
	cancel()

	var end nodeInspect
	nodeResque(t, e, "inspect", &end)
	if end.FailedCount != 2 || len(end.Failed) != 2 {
		t.Fatalf("node-resque failed: count %d, %d records", end.FailedCount, len(end.Failed))
	}
	type failSum struct{ Worker, Queue, Exception, Error, Class string }
	var gotFails []failSum
	for _, f := range end.Failed {
		gotFails = append(gotFails, failSum{f.Worker, f.Queue, f.Exception, f.Error, f.Payload["class"].(string)})
	}
	wantFails := []failSum{
		{s.ID(), "builds", "Fleet::JobError", "vm ruby-1 did not boot", JobClass},
		{s.ID(), "builds", "Fleet::InvalidPayload",
			`invalid job payload: class: "WrongClass", want "Fleet::Build"; args: 2 elements, want a list of exactly one object`,
			"WrongClass"},
	}
	if d := cmp.Diff(wantFails, gotFails); d != "" {
		t.Errorf("node-resque failed() (-want +got):\n%s", d)
	}
	wantStats := map[string]string{
		"processed": "3", "processed:" + s.ID(): "3",
		"failed": "2", "failed:" + s.ID(): "2",
	}
	if d := cmp.Diff(wantStats, end.Stats); d != "" {
		t.Errorf("node-resque stats() (-want +got):\n%s", d)
	}
	if string(end.WorkingOn[name]) != `"started"` {
		t.Errorf("allWorkingOn() after the job = %s, want idle (\"started\")", end.WorkingOn[name])
	}

	// node-resque retries the job our worker failed; we run it again.
	var retry struct {
		Retried     []string `json:"retried"`
		FailedCount int      `json:"failedCount"`
		Length      int      `json:"length"`
	}
	nodeResque(t, e, "retry", &retry)
	if d := cmp.Diff([]string{"node-2"}, retry.Retried); d != "" || retry.FailedCount != 1 || retry.Length != 1 {
		t.Fatalf("retryAndRemoveFailed: %+v (-want +got retried):\n%s", retry, d)
	}
	j3, err := s.Fetch(ctx)
	if err != nil || j3.ID != "node-2" {
		t.Fatalf("fetch of the retried job: %v %v", j3, err)
	}
	if err := s.Finish(ctx, j3, Result{State: StatePassed}); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.JobStatus(ctx, "node-2"); st.State != StatePassed {
		t.Errorf("retried job state = %s, want passed", st.State)
	}
}

func ptr(s string) *string { return &s }
