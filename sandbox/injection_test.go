package sandbox

// Hostile values in every payload field arrive in the guest as literal text
// and run nothing. The real queue refuses most of these values (a URL with
// a newline, a commit that is not hex), so the job is handed to the sandbox
// directly, with an in-memory queue side; the sandbox must not rely on the
// queue's validation.

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fleet-agent/fleet/queue"
	"github.com/google/go-cmp/cmp"
)

// memQueue is the queue side of a sandbox in memory.
type memQueue struct {
	mu       sync.Mutex
	logs     map[string]*bytes.Buffer
	results  map[string]queue.Result
	requeued []string
}

func newMemQueue() *memQueue {
	return &memQueue{logs: map[string]*bytes.Buffer{}, results: map[string]queue.Result{}}
}

func (m *memQueue) AppendLog(_ context.Context, id string, chunk []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.logs[id] == nil {
		m.logs[id] = &bytes.Buffer{}
	}
	m.logs[id].Write(chunk)
	return nil
}

func (m *memQueue) WatchCancel(ctx context.Context, _ string) (context.Context, func()) {
	c, cancel := context.WithCancelCause(ctx)
	return c, func() { cancel(context.Canceled) }
}

func (m *memQueue) Finish(_ context.Context, job *queue.Job, r queue.Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.results[job.ID] = r
	return nil
}

func (m *memQueue) Requeue(_ context.Context, job *queue.Job) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requeued = append(m.requeued, job.ID)
	return nil
}

func (m *memQueue) log(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.logs[id] == nil {
		return ""
	}
	return m.logs[id].String()
}

// gitStandIn records its arguments in the log (hex of the NUL-joined argv)
// and, for a clone, creates the target directory.
const gitStandIn = `#!/bin/sh
printf 'GITARGV %s\n' "$(for a in "$@"; do printf '%s\0' "$a"; done | od -An -tx1 | tr -d ' \n')"
if [ "$1" = clone ]; then for a in "$@"; do last=$a; done; mkdir -p -- "$last"; fi
exit 0
`

// showValues prints each variable's value as hex, so the test reads back the
// exact bytes the guest saw.
const showValues = `for v in "$FLEET_JOB_ID" "$FLEET_REPO_SLUG" "$FLEET_COMMIT" "$FLEET_BRANCH" "$EVIL"; do ` +
	`printf 'VAL %s\n' "$(printf '%s' "$v" | od -An -tx1 | tr -d ' \n')"; done`

// codeStep is shell code with every kind of quoting; it must run exactly as
// written and be shown literally in its header.
const codeStep = "echo 'single' \"double\" `echo back` $((1+2)); x='a;b'; echo \"$x\"\necho second-line"

func TestHostileValuesArriveAsLiteralText(t *testing.T) {
	w := newWorld(t, false)
	canary := filepath.Join(w.sim.Home, "canary")
	if err := os.MkdirAll(canary, 0o777); err != nil {
		t.Fatal(err)
	}
	evil := func(field string) string {
		c := func(n int) string { return filepath.Join(canary, fmt.Sprintf("%s-%d", field, n)) }
		return fmt.Sprintf("v$(touch %s)`touch %s`;touch %s;'\"'\"\n touch %s && echo $HOME \\ * | cat # ${IFS}",
			c(1), c(2), c(3), c(4))
	}
	gitBin := filepath.Join(t.TempDir(), "git")
	if err := os.WriteFile(gitBin, []byte(gitStandIn), 0o755); err != nil {
		t.Fatal(err)
	}
	vm, disk := w.worker(t, "hostile", gitBin)
	mq := newMemQueue()
	s := w.sandbox(t, vm, mq, mq, nil)

	a := queue.Args{
		ID:         evil("id"),
		Repository: queue.Repository{Slug: evil("slug"), URL: evil("url")},
		Commit:     evil("commit"),
		Branch:     evil("branch"),
		Env:        []string{"EVIL=" + evil("env")},
		Script:     []string{showValues, codeStep},
	}
	out, err := s.Run(context.Background(), jobOf(a))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	log := mq.log(a.ID)
	if out.Result.State != queue.StatePassed {
		t.Fatalf("result %+v, want passed; log:\n%s", out.Result, log)
	}

	var vals []string
	var gitCalls [][]string
	for _, line := range strings.Split(log, "\n") {
		if h, ok := strings.CutPrefix(line, "VAL "); ok {
			vals = append(vals, string(unhex(t, h)))
		}
		if h, ok := strings.CutPrefix(line, "GITARGV "); ok {
			args := strings.Split(string(unhex(t, h)), "\x00")
			gitCalls = append(gitCalls, args[:len(args)-1])
		}
	}
	want := []string{a.ID, a.Repository.Slug, a.Commit, a.Branch, evil("env")}
	if diff := cmp.Diff(want, vals); diff != "" {
		t.Errorf("values seen in the guest (-want +got):\n%s", diff)
	}
	home := filepath.Join(disk, "home", DefaultUser)
	wantGit := [][]string{
		{"clone", "--depth=50", "--branch=" + a.Branch, "--", a.Repository.URL, home + "/build/" + a.Repository.Slug},
		{"checkout", "-qf", a.Commit, "--"},
	}
	if diff := cmp.Diff(wantGit, gitCalls); diff != "" {
		t.Errorf("git's arguments (-want +got):\n%s", diff)
	}
	for _, header := range []string{"$ export EVIL=[value hidden]\n", "$ " + codeStep + "\n"} {
		if !strings.Contains(log, header) {
			t.Errorf("log lacks the literal header %q", header)
		}
	}
	if !strings.Contains(log, "single double back 3\na;b\nsecond-line\n") {
		t.Errorf("the code step did not run as written; log:\n%s", log)
	}
	if left, _ := os.ReadDir(canary); len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("payload values ran as commands: %v", names)
	}
	if _, err := os.Stat(LogPath(w.stateDir, a.ID)); err != nil || filepath.Dir(LogPath(w.stateDir, a.ID)) != filepath.Join(w.stateDir, "jobs") {
		t.Errorf("local log of the hostile id not kept inside the jobs folder: %v", err)
	}
}

// jobOf wraps a payload the way Fetch would, for tests without a queue.
func jobOf(a queue.Args) *queue.Job {
	return &queue.Job{Args: a, Queue: "builds", Attempt: 1}
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return b
}
