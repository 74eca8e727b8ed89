// The step runner of `agent doctor --deep`, shared by the providers' checks: one line per
// step as it ends, with its time, and at the end one table of every provider's steps (the
// latency profile of this host).
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/guest"
)

// deepStep is one step's outcome.
type deepStep struct {
	name   string
	took   time.Duration
	detail string
	err    error
	ran    bool
}

// deepSteps runs one provider's steps in order; after the first failure only steps run with
// always (the cleanup) still run.
type deepSteps struct {
	w        io.Writer
	provider string
	planned  int // how many steps the check has, for "n/N"
	steps    []deepStep
	failed   bool
}

// step runs f unless an earlier step failed, and prints one line with its time.
func (r *deepSteps) step(ctx context.Context, name string, f func(context.Context) (string, error)) {
	s := deepStep{name: name}
	if r.failed {
		r.steps = append(r.steps, s)
		return
	}
	start := time.Now()
	s.detail, s.err = f(ctx)
	if s.err == nil && ctx.Err() != nil {
		s.err = fmt.Errorf("interrupted: %w", ctx.Err())
	}
	s.took, s.ran = time.Since(start), true
	r.steps = append(r.steps, s)
	n := len(r.steps)
	if s.err != nil {
		r.failed = true
		fmt.Fprintf(r.w, "%-4s  deep %s %2d/%d %-15s %9s  %v\n", sevFail, r.provider, n, r.planned, name, roundDur(s.took), s.err)
		return
	}
	fmt.Fprintf(r.w, "%-4s  deep %s %2d/%d %-15s %9s  %s\n", sevOK, r.provider, n, r.planned, name, roundDur(s.took), s.detail)
}

// always runs the final step (the cleanup) even after a failure, on a context of its own
// (bounded by deepCleanTime) so that an interrupt still cleans up.
func (r *deepSteps) always(ctx context.Context, name string, f func(context.Context) (string, error)) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deepCleanTime)
	defer cancel()
	failed := r.failed
	r.failed = false
	r.step(cctx, name, f)
	r.failed = r.failed || failed
}

// printDeepTable prints every provider's steps as one table and returns the number of failed
// steps (steps skipped after a failure are shown, not counted).
func printDeepTable(w io.Writer, runs []*deepSteps) int {
	fmt.Fprintf(w, "\n  %-10s  %-15s  %9s  %s\n", "provider", "step", "time", "result")
	bad := 0
	for _, r := range runs {
		var total time.Duration
		runBad := 0
		for _, s := range r.steps {
			res := "ok"
			switch {
			case s.err != nil:
				res, runBad = "FAIL", runBad+1
			case !s.ran:
				res = "skipped"
			}
			total += s.took
			fmt.Fprintf(w, "  %-10s  %-15s  %9s  %s\n", r.provider, s.name, roundDur(s.took), res)
		}
		fmt.Fprintf(w, "  %-10s  %-15s  %9s  %s\n", r.provider, "total", roundDur(total), map[bool]string{true: "ok", false: "FAIL"}[runBad == 0])
		bad += runBad
	}
	return bad
}

func roundDur(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// deepGuest is the SSH side of a deep check: the guest steps every provider's check runs
// alike. The commands use uname, cat and ls (not shell builtins), so they prove the guest's
// userland, and a test box can replace them to inject a fault.
type deepGuest struct {
	client *guest.Client
}

func (g *deepGuest) run(ctx context.Context, cmd string) (string, error) {
	if g.client == nil {
		return "", errors.New("no SSH connection")
	}
	var out, errb bytes.Buffer
	if err := g.client.Run(ctx, cmd, &out, &errb); err != nil {
		return "", fmt.Errorf("%s: %w (stderr %q)", cmd, err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func (g *deepGuest) closeClient() {
	if g.client != nil {
		g.client.Close()
		g.client = nil
	}
}

// runCommand is the "run command" step.
func (g *deepGuest) runCommand(ctx context.Context) (string, error) {
	out, err := g.run(ctx, "uname -s")
	if err == nil && out == "" {
		err = errors.New("uname -s printed nothing")
	}
	return "uname -s: " + out, err
}

// writeFile is the "write file" step: a file the restore must remove.
func (g *deepGuest) writeFile(ctx context.Context) (string, error) {
	out, err := g.run(ctx, "echo probe > \"$HOME/"+deepProbe+"\" && sync && cat \"$HOME/"+deepProbe+"\"")
	if err == nil && out != "probe" {
		err = fmt.Errorf("~/%s reads %q after writing \"probe\"", deepProbe, out)
	}
	return "~/" + deepProbe, err
}

// fileGone is the "file gone" step, after the restore of the ready snapshot.
func (g *deepGuest) fileGone(ctx context.Context) (string, error) {
	out, err := g.run(ctx, "ls -a \"$HOME\"")
	if err == nil && slices.Contains(strings.Fields(out), deepProbe) {
		err = fmt.Errorf("~/%s survived the restore of the ready snapshot", deepProbe)
	}
	return "~/" + deepProbe + " is gone", err
}
