// The apply subcommand: plan, show, confirm (on a terminal, unless --auto-approve), then
// converge once under the host's apply lock and exit, printing a line per action as it starts
// and ends. Failures of every pass are printed; the exit code is 1 only when the host is still
// not converged at the end.

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-multierror"
	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/reconcile"
)

func init() { commands = append(commands, newApplyCmd) }

// applyStdin is where apply reads the confirmation; tests replace it.
var applyStdin io.Reader = os.Stdin

func newApplyCmd(a *app) *cobra.Command {
	var autoApprove bool
	var replace []string
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Make this host's VMs match fleet.hcl once, then exit",
		Long: `Apply computes the same plan as 'agent plan', prints it and, after confirmation, carries it
out: independent actions in parallel up to virtualbox.max_parallel, transient VirtualBox
failures retried with backoff. It then observes the host again and applies what is left
(a failed clone, say) until the host matches or a few passes did not get there. Every failure
is printed; the exit code is 0 when the host matches fleet.hcl at the end, 1 otherwise.

With -replace=TARGET (see 'agent plan') TARGET and what is built on it are destroyed and
recreated. While 'agent run' serves this host, ask it instead with 'agent replace TARGET':
apply refuses, so no job is cut short.

Confirmation is asked on a terminal; without one, --auto-approve is required. Only one apply
runs on a host at a time: a second one waits for the first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if len(replace) > 0 {
				// Before the apply lock, which a running agent holds while it applies.
				if err := a.refuseWhileAgentRuns(ctx); err != nil {
					return err
				}
			}
			r, err := a.openReconcile(ctx, true)
			if err != nil {
				return err
			}
			defer r.close()
			r.replace = replace
			plan, err := r.plan(ctx)
			if err != nil {
				return err
			}
			color := colorOn(a.stdout)
			if err := reconcile.Render(a.stdout, plan, reconcile.RenderOptions{Color: color}); err != nil {
				return fmt.Errorf("write plan: %w", err)
			}
			if plan.Runnable() == 0 {
				return nil
			}
			if !autoApprove {
				ok, err := a.confirm()
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintln(a.stdout, "Apply cancelled.")
					return exitCodeError{exitError}
				}
			}
			fmt.Fprintln(a.stdout)
			ap := &reconcile.Applier{
				Provider: r.provider, Boxes: r.cache, MaxParallel: r.fleet.VirtualBox.MaxParallel,
				OnEvent: func(e reconcile.Event) { printEvent(a.stdout, e) },
			}
			start := time.Now()
			res, err := ap.Converge(ctx, r.desired, r.observe, &plan, 0)
			fmt.Fprintf(a.stdout, "\n")
			if err != nil {
				fmt.Fprintf(a.stderr, "Apply failed after %d passes (%s):\n", res.Passes, time.Since(start).Round(time.Second))
				printErrors(a.stderr, err)
				return exitCodeError{exitError}
			}
			waiting := res.Final.Summary().Waiting
			fmt.Fprintf(a.stdout, "Apply complete in %s (%d passes", time.Since(start).Round(time.Second), res.Passes)
			if n := len(res.Failures); n > 0 {
				fmt.Fprintf(a.stdout, ", %d failures recovered", n)
			}
			fmt.Fprint(a.stdout, ").")
			if waiting > 0 {
				fmt.Fprintf(a.stdout, " %d actions wait for jobs to end; run apply again later.", waiting)
			}
			fmt.Fprintln(a.stdout)
			return nil
		},
	}
	cmd.Flags().BoolVar(&autoApprove, "auto-approve", false, "apply without asking for confirmation")
	addReplaceFlag(cmd, &replace)
	return cmd
}

// confirm asks on a terminal; without one it refuses, since nobody can answer.
func (a *app) confirm() (bool, error) {
	if f, ok := applyStdin.(*os.File); ok && !isTerminal(f) {
		return false, usageError{errors.New("stdin is not a terminal: pass --auto-approve to apply without confirmation")}
	}
	fmt.Fprint(a.stdout, "\nApply these changes? Only 'yes' is accepted: ")
	line, err := bufio.NewReader(applyStdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read confirmation: %w", err)
	}
	return strings.TrimSpace(line) == "yes", nil
}

// printEvent prints one progress line.
func printEvent(w io.Writer, e reconcile.Event) {
	what := fmt.Sprintf("%s %s", strings.ReplaceAll(string(e.Action.Kind), "_", " "), e.Action.Target)
	switch e.Type {
	case reconcile.EventStarted:
		fmt.Fprintf(w, "%s: started\n", what)
	case reconcile.EventDone:
		fmt.Fprintf(w, "%s: done (%s)\n", what, e.Took.Round(100*time.Millisecond))
	case reconcile.EventRetry:
		fmt.Fprintf(w, "%s: retrying (attempt %d) after: %v\n", what, e.Attempt, e.Err)
	case reconcile.EventFailed:
		fmt.Fprintf(w, "%s: failed: %v\n", what, e.Err)
	case reconcile.EventSkipped:
		fmt.Fprintf(w, "%s: skipped: %v\n", what, e.Err)
	case reconcile.EventWaiting:
		fmt.Fprintf(w, "%s: waiting: %s\n", what, e.Action.Waiting)
	}
}

func printErrors(w io.Writer, err error) {
	var me *multierror.Error
	if errors.As(err, &me) {
		for _, e := range me.Errors {
			fmt.Fprintf(w, "  - %v\n", e)
		}
		return
	}
	fmt.Fprintf(w, "  - %v\n", err)
}
