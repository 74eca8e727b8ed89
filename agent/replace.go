// The replace subcommand and what plan and apply share for -replace: `agent replace TARGET`
// asks the running agent to destroy and recreate a worker, a pool's golden image (golden.POOL)
// or a box (box.NAME) with everything built on it, each worker after its running job.
package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/reconcile"
)

func init() { commands = append(commands, newReplaceCmd) }

func newReplaceCmd(a *app) *cobra.Command {
	var sf socketFlag
	cmd := &cobra.Command{
		Use:   "replace TARGET",
		Short: "Have the running agent rebuild a worker, a golden image or a box",
		Long: `Replace asks the running agent to destroy and recreate TARGET and everything built on it,
the way 'agent apply -replace=TARGET' does, without stopping the agent:

  ruby-3        the worker ruby-3, after its running job
  golden.ruby   pool ruby's golden image, rebuilt from the box beside the old one; then every
                worker of the pool, one by one within rollout.max_unavailable, each after its
                running job; then the old golden is removed
  box.lucid32   the box: downloaded, verified and imported again; then every golden built on
                it and their workers, as above

The request is kept in state_dir until done, so it survives an agent restart; 'agent status'
shows its progress. An unknown target is answered with the valid ones, and a VM this agent
does not own is refused. Exit codes: 0 requested, 1 no agent or the agent refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := a.callAgent(context.Background(), sf, control.Request{Op: control.OpReplace, Target: args[0]}, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Replacement of %s requested on %s; 'agent status' shows its progress.\n", args[0], r.Status.Host)
			return nil
		},
	}
	sf.add(cmd)
	return cmd
}

// addReplaceFlag adds plan's and apply's -replace.
func addReplaceFlag(cmd *cobra.Command, targets *[]string) {
	cmd.Flags().StringArrayVar(targets, "replace", nil,
		"destroy and recreate TARGET and what is built on it: a worker (ruby-3), golden.POOL or box.NAME (repeatable)")
}

// resolveReplace turns -replace targets into the VM IDs Diff replaces; every unknown or
// foreign target is reported, each with the valid ones.
func resolveReplace(d reconcile.Desired, inv reconcile.Inventory, targets []string) ([]string, error) {
	var ids []string
	var errs []error
	for _, t := range targets {
		got, err := reconcile.ResolveReplace(d, inv, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids = append(ids, got...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("-replace: %w", err)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// refuseWhileAgentRuns fails when `agent run` serves this fleet.hcl's state_dir: its workers
// may be running jobs on the VMs a replacement destroys, and only the agent knows which.
func (a *app) refuseWhileAgentRuns(ctx context.Context) error {
	sock, err := a.socketPath(socketFlag{})
	if err != nil {
		return nil // openReconcile reports the missing or broken fleet.hcl
	}
	r, err := control.Call(ctx, sock, control.Request{Op: control.OpStatus}, nil)
	if err != nil {
		return nil
	}
	return fmt.Errorf("an agent is running on this host (pid %d, %s): ask it with 'agent replace TARGET' so no job is cut short",
		r.Status.PID, filepath.Dir(sock))
}
