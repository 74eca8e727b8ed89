package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
)

// TestSubmitThenLogsFollowsTheJobToItsEnd drives the two operator commands against a real
// redis-server: submit enqueues a Resque payload, a worker slot takes it and writes its log, and
// logs --follow replays it and exits with the job's verdict.
func TestSubmitThenLogsFollowsTheJobToItsEnd(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()

	code, out, errOut := runCLI(t, "submit", "--redis", srv.URL, "-q", "builds.ruby",
		"--repo", "acme/widgets", "--url", "https://example.org/acme/widgets.git",
		"--commit", "0123456789abcdef0123456789abcdef01234567", "-s", "make test")
	if code != exitOK {
		t.Fatalf("submit exit %d, stderr %s", code, errOut)
	}
	id := strings.TrimSpace(out)
	if id == "" {
		t.Fatal("submit printed no job id")
	}

	rdb := srv.Client(t)
	raw, err := rdb.LIndex(ctx, "resque:queue:builds.ruby", 0).Bytes()
	if err != nil {
		t.Fatalf("read the queue: %v", err)
	}
	var payload struct {
		Class string
		Args  []struct{ ID string }
	}
	if err := json.Unmarshal(raw, &payload); err != nil || len(payload.Args) != 1 || payload.Args[0].ID != id {
		t.Fatalf("queued payload %s (err %v): want args[0].id %q", raw, err, id)
	}

	c, err := queue.Open(queue.Config{URL: srv.URL, Host: "test-host"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	slot, err := c.NewSlot("1", []string{"builds.ruby"})
	if err != nil {
		t.Fatal(err)
	}
	if err := slot.Register(ctx); err != nil {
		t.Fatal(err)
	}
	job, err := slot.Fetch(ctx)
	if err != nil || job == nil || job.Args.ID != id {
		t.Fatalf("fetch = %+v, %v; want job %s", job, err, id)
	}
	if err := c.AppendLog(ctx, id, []byte("$ make test\nok\n")); err != nil {
		t.Fatal(err)
	}
	if err := slot.Finish(ctx, job, queue.Result{State: queue.StateFailed, ExitCode: 2}); err != nil {
		t.Fatal(err)
	}

	code, out, errOut = runCLI(t, "logs", "--redis", srv.URL, "--follow", id)
	if code != exitError {
		t.Errorf("logs --follow of a failed job exited %d, want %d (stderr %s)", code, exitError, errOut)
	}
	if want := "job " + id + " failed (exit 2); result of attempt 1 on host test-host"; !strings.Contains(errOut, want) {
		t.Errorf("logs --follow stderr %q lacks %q", errOut, want)
	}
	if !strings.Contains(out, "$ make test\nok\n") {
		t.Errorf("logs output %q lacks the job's log", out)
	}
}

func TestSubmitRejectsAnIncompleteJobBeforeConnecting(t *testing.T) {
	// No --repo: the job is invalid, and the command must say so without touching Redis
	// (the URL points at a port nothing listens on).
	code, _, errOut := runCLI(t, "submit", "--redis", "redis://127.0.0.1:1/0", "-s", "true")
	if code != exitUsage {
		t.Errorf("exit %d, want %d; stderr %s", code, exitUsage, errOut)
	}
}
