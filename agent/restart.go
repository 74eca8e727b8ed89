// The restart subcommand: roll one or more workers back to their ready snapshot now, after
// their running job, or at once with --force (the job is cancelled and requeued).
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/control"
)

func init() { commands = append(commands, newRestartCmd) }

func newRestartCmd(a *app) *cobra.Command {
	var (
		sf    socketFlag
		force bool
	)
	cmd := &cobra.Command{
		Use:   "restart VM... [--force]",
		Short: "Roll workers back to their clean ready state now",
		Long: `Restart asks the running agent to roll each named worker back to its 'ready' snapshot: the
VM is in the exact state it was in before its first job. A worker running a job rolls back
after the job; with --force the job is cancelled at once and put back at the head of its
queue (attempt counted) to run again on any worker.

An unknown name is answered with the valid ones, and a VM this agent does not own is refused.
Exit codes: 0 requested, 1 no agent or the agent refused.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := control.Request{Op: control.OpRestart, VMs: args, Force: force}
			r, err := a.callAgent(context.Background(), sf, req, nil)
			if err != nil {
				return err
			}
			var after, now []string
			for _, name := range args {
				if v := findVM(r.Status, name); v != nil && v.Job != nil && !force {
					after = append(after, fmt.Sprintf("%s (after job %s)", name, v.Job.ID))
				} else {
					now = append(now, name)
				}
			}
			if len(now) > 0 {
				fmt.Fprintf(a.stdout, "Restarting %s now.\n", strings.Join(now, ", "))
			}
			if len(after) > 0 {
				fmt.Fprintf(a.stdout, "Restarting %s.\n", strings.Join(after, ", "))
			}
			return nil
		},
	}
	sf.add(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "cancel and requeue the running job and roll back at once")
	return cmd
}

// findVM returns the status of the VM called name, or nil.
func findVM(st *control.Status, name string) *control.VMStatus {
	if st == nil {
		return nil
	}
	for i := range st.VMs {
		if st.VMs[i].Name == name {
			return &st.VMs[i]
		}
	}
	return nil
}
