// The resume subcommand: undo `agent drain`.
package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/control"
)

func init() { commands = append(commands, newResumeCmd) }

func newResumeCmd(a *app) *cobra.Command {
	var sf socketFlag
	cmd := &cobra.Command{
		Use:   "resume",
		Short: "Take jobs again after 'agent drain'",
		Long: `Resume tells the running agent that its workers may fetch jobs again and removes the drain
mark from state_dir. Exit codes: 0 resumed, 1 no agent or the agent refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := a.callAgent(context.Background(), sf, control.Request{Op: control.OpResume}, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Resumed %s: workers take jobs again.\n", r.Status.Host)
			return nil
		},
	}
	sf.add(cmd)
	return cmd
}
