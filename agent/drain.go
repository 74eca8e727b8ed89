// The drain subcommand: stop fetching on every worker of this host, or on the workers named,
// persistently, optionally waiting for running jobs, cancelling them at a deadline or at once.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/control"
)

func init() { commands = append(commands, newDrainCmd) }

func newDrainCmd(a *app) *cobra.Command {
	var (
		sf       socketFlag
		deadline time.Duration
		wait     bool
		force    bool
	)
	cmd := &cobra.Command{
		Use:   "drain [VM...] [--deadline 1h] [--wait] [--force]",
		Short: "Stop taking jobs on this host, or on some workers (before maintenance)",
		Long: `Drain tells the running agent to stop fetching jobs on every worker. Running jobs go on. The
drain is written to state_dir, so an agent restarted while drained stays drained until
'agent resume'.

With --wait the command shows progress and returns once no job runs. With --deadline, jobs
still running when it passes are cancelled and put back at the head of their queue (attempt
counted), to run on another host; --force does that at once.

With VM arguments only those workers stop fetching (they finish their running job; the rest
of the host keeps working) until 'agent resume VM'; --wait returns once they are idle and
--force cancels and requeues their jobs. A drained worker counts as out of service, so a
rolling replacement never relies on it. An unknown name is answered with the valid ones, and
a VM this agent does not own is refused.

Exit codes: 0 drained (with --wait: and idle), 1 no agent or the agent refused.`,
		RunE: func(cmd *cobra.Command, vms []string) error {
			if deadline < 0 {
				return usageError{fmt.Errorf("--deadline %s: must not be negative", deadline)}
			}
			if len(vms) > 0 && deadline > 0 {
				return usageError{errors.New("--deadline drains the whole host: use --force to cancel the jobs of single workers")}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			req := control.Request{Op: control.OpDrain, VMs: vms, Drain: &control.DrainRequest{
				Deadline: control.Duration(deadline), Force: force, Wait: wait,
			}}
			r, err := a.callAgent(ctx, sf, req, func(r control.Response) {
				fmt.Fprintf(a.stdout, "Waiting for %s\n", runningJobs(only(r.Status, vms)))
			})
			if err != nil {
				return err
			}
			st := r.Status
			if len(vms) > 0 {
				who := strings.Join(vms, ", ")
				if n := only(st, vms).Running(); n > 0 && !wait {
					fmt.Fprintf(a.stdout, "Draining %s: %s; the rest of %s keeps working.\n", who, runningJobs(only(st, vms)), st.Host)
				} else {
					fmt.Fprintf(a.stdout, "Drained %s: idle, taking no jobs; the rest of %s keeps working.\n", who, st.Host)
				}
				return nil
			}
			switch {
			case wait:
				fmt.Fprintf(a.stdout, "Drained %s: no job running.\n", st.Host)
			case st.Running() > 0:
				fmt.Fprintf(a.stdout, "Draining %s: %s.\n", st.Host, runningJobs(st))
			default:
				fmt.Fprintf(a.stdout, "Drained %s: no job running.\n", st.Host)
			}
			return nil
		},
	}
	sf.add(cmd)
	fl := cmd.Flags()
	fl.DurationVar(&deadline, "deadline", 0, "cancel and requeue jobs still running after this long (e.g. 1h)")
	fl.BoolVar(&wait, "wait", false, "show progress and return once no job runs")
	fl.BoolVar(&force, "force", false, "cancel and requeue running jobs now")
	return cmd
}

// runningJobs says which jobs run, for progress lines.
func runningJobs(st *control.Status) string {
	var jobs []string
	for _, v := range st.VMs {
		if v.Job != nil {
			jobs = append(jobs, fmt.Sprintf("%s on %s", v.Job.ID, v.Name))
		}
	}
	switch len(jobs) {
	case 0:
		return "no job running"
	case 1:
		return "1 job running (" + jobs[0] + ")"
	}
	return fmt.Sprintf("%d jobs running (%s)", len(jobs), strings.Join(jobs, ", "))
}

// only returns st with just the VMs named (all of them when vms is empty).
func only(st *control.Status, vms []string) *control.Status {
	if len(vms) == 0 {
		return st
	}
	out := *st
	out.VMs = nil
	for _, v := range st.VMs {
		if slices.Contains(vms, v.Name) {
			out.VMs = append(out.VMs, v)
		}
	}
	return &out
}
