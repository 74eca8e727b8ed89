package guest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunReportsExitStatus(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	tests := []struct {
		name string
		cmd  string
		want *ExitError // nil: success
	}{
		{name: "success is nil", cmd: "true", want: nil},
		{name: "exit 1", cmd: "exit 1", want: &ExitError{Code: 1}},
		{name: "command not found is 127", cmd: "no-such-command-fleet-xyz", want: &ExitError{Code: 127}},
		{name: "status of the last command", cmd: "true; false", want: &ExitError{Code: 1}},
		{name: "killed by a signal", cmd: "kill -TERM $$", want: &ExitError{Code: -1, Signal: "TERM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Run(context.Background(), tt.cmd, nil, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Run(%q) = %v, want nil", tt.cmd, err)
				}
				return
			}
			var got *ExitError
			if !errors.As(err, &got) {
				t.Fatalf("Run(%q) = %v, want *ExitError", tt.cmd, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Run(%q) exit error (-want +got):\n%s", tt.cmd, diff)
			}
		})
	}
}

func TestRunKeepsOrderOnEachStream(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	const n = 2000
	cmd := fmt.Sprintf("i=1; while [ $i -le %d ]; do echo out$i; echo err$i >&2; i=$((i+1)); done", n)
	var wantOut, wantErr strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&wantOut, "out%d\n", i)
		fmt.Fprintf(&wantErr, "err%d\n", i)
	}
	var stdout, stderr strings.Builder
	if err := c.Run(context.Background(), cmd, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v", err)
	}
	if diff := cmp.Diff(wantOut.String(), stdout.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantErr.String(), stderr.String()); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

func TestRunSharesOneWriterBetweenStreams(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	var both strings.Builder // not safe for concurrent use: Run must serialize
	cmd := "i=0; while [ $i -lt 500 ]; do echo o; echo e >&2; i=$((i+1)); done"
	if err := c.Run(context.Background(), cmd, &both, &both); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got, want := strings.Count(both.String(), "\n"), 1000; got != want {
		t.Errorf("combined output has %d lines, want %d", got, want)
	}
}

func TestRunStreamsOutputBeforeTheCommandEnds(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	out := newSignalWriter("first\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, "echo first; sleep 300", out, nil) }()
	waitFor(t, out.seen, 30*time.Second, "first line while the command still runs")
	select {
	case err := <-done:
		t.Fatalf("command ended before cancel: %v", err)
	default:
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}
}

func TestRunCancelKillsTheRemoteProcessGroup(t *testing.T) {
	tests := []struct {
		name     string
		noSignal bool
	}{
		{name: "signal request"},
		{name: "kill command fallback", noSignal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cfg := startSSHD(t)
			cfg.CancelGrace = 200 * time.Millisecond
			c := dial(t, cfg)
			c.noSignal = tt.noSignal
			dir := t.TempDir()
			shellPID, childPID := filepath.Join(dir, "shell.pid"), filepath.Join(dir, "child.pid")
			// The shell and a background child share the process group; both must die.
			cmd := fmt.Sprintf("echo $$ > %s; sleep 300 & echo $! > %s; echo started; wait",
				shellQuote(shellPID), shellQuote(childPID))
			out := newSignalWriter("started")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx, cmd, out, nil) }()
			waitFor(t, out.seen, 30*time.Second, "command start")
			pids := []int{readPID(t, shellPID), readPID(t, childPID)}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Run after cancel = %v, want context.Canceled", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Run did not return 30s after cancel")
			}
			waitGone(t, pids, 30*time.Second)
			// The connection stays usable after a cancelled command.
			if err := c.Run(context.Background(), "true", nil, nil); err != nil {
				t.Errorf("run after cancel: %v", err)
			}
		})
	}
}

func TestRunWithCancelledContextDoesNotStart(t *testing.T) {
	_, cfg := startSSHD(t)
	c := dial(t, cfg)
	marker := filepath.Join(t.TempDir(), "ran")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Run(ctx, "touch "+shellQuote(marker), nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if _, statErr := os.Stat(marker); statErr == nil {
		t.Error("command ran although the context was already cancelled")
	}
}

// The wrapper is plain shell, so it is checked with the local /bin/sh too:
// it must keep the user's exit status and leave no pid file behind.
func TestWrapCommandKeepsStatusAndCleansUp(t *testing.T) {
	tests := []struct {
		name     string
		cmd      string
		wantCode int
		wantOut  string
	}{
		{name: "success", cmd: "echo hi", wantCode: 0, wantOut: "hi\n"},
		{name: "exit builtin", cmd: "exit 3", wantCode: 3},
		{name: "last status", cmd: "false", wantCode: 1},
		{name: "multi-line script", cmd: "a=1\nif [ $a = 1 ]; then echo one; fi", wantOut: "one\n"},
		{name: "leading comment", cmd: "# comment\necho after", wantOut: "after\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			cmd := exec.Command("/bin/sh", "-c", wrapCommand("abc", tt.cmd))
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			out, err := cmd.Output()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode || string(out) != tt.wantOut {
				t.Errorf("got code %d output %q, want %d %q", code, out, tt.wantCode, tt.wantOut)
			}
			left, _ := filepath.Glob(filepath.Join(tmp, ".fleet-run-*"))
			if len(left) > 0 {
				t.Errorf("pid files left behind: %v", left)
			}
		})
	}
}

func TestShellQuoteRoundTrips(t *testing.T) {
	tests := []struct{ name, in string }{
		{name: "plain", in: "abc"},
		{name: "empty", in: ""},
		{name: "spaces", in: "a b  c"},
		{name: "single quotes", in: "it's 'quoted'"},
		{name: "expansions stay literal", in: "$HOME `id` $(id) \\n *"},
		{name: "newline", in: "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command("/bin/sh", "-c", "printf %s "+shellQuote(tt.in)).Output()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.in {
				t.Errorf("sh saw %q, want %q", out, tt.in)
			}
		})
	}
}
