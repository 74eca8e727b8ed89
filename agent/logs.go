// The logs subcommand: print a job's log from Redis, from any host; with --follow keep printing
// until the job ends.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/queue"
)

func init() { commands = append(commands, newLogsCmd) }

func newLogsCmd(a *app) *cobra.Command {
	var (
		qf     queueFlags
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "logs JOB",
		Short: "Print a job's log; --follow streams it until the job ends",
		Long: `Logs prints the log of job JOB as stored in Redis. With --follow it then prints new output as
the worker appends it, until the job reaches a final state, and exits 0 only if the job passed
(1 if it failed, errored or was canceled).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("logs takes exactly one job id, got %d", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.openQueue(qf)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return followJob(ctx, a, c, args[0], follow)
		},
	}
	qf.add(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing until the job ends")
	return cmd
}

// followJob prints job id's log and, when following, turns the job's final state into the exit code.
func followJob(ctx context.Context, a *app, c *queue.Client, id string, follow bool) error {
	state, err := c.FollowLog(ctx, id, a.stdout, follow)
	if errors.Is(err, queue.ErrJobNotFound) {
		return fmt.Errorf("job %s: no such job (or its record has expired)", id)
	}
	if err != nil {
		return err
	}
	if !follow {
		return nil
	}
	st, err := c.JobStatus(ctx, id)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("job %s %s", id, state)
	switch {
	case state == queue.StateFailed:
		msg += fmt.Sprintf(" (exit %d)", st.ExitCode)
	case state != queue.StatePassed && st.Error != "":
		msg += ": " + st.Error
	}
	fmt.Fprintln(a.stderr, msg+attemptNote(st))
	if state == queue.StatePassed {
		return nil
	}
	return exitCodeError{exitError}
}

// attemptNote says which attempt produced the final result, and where: a job taken back from a
// dead or stopped host ends on a later attempt than the one whose output may precede it.
func attemptNote(st queue.Status) string {
	if st.Attempt == 0 {
		return ""
	}
	note := fmt.Sprintf("; result of attempt %d", st.Attempt)
	if st.Host != "" {
		note += " on host " + st.Host
	}
	if st.Worker != "" {
		note += " (worker " + st.Worker + ")"
	}
	return note
}
