// The resume subcommand: undo `agent drain`, for the host or for the workers named.
package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/control"
)

func init() { commands = append(commands, newResumeCmd) }

func newResumeCmd(a *app) *cobra.Command {
	var sf socketFlag
	cmd := &cobra.Command{
		Use:   "resume [VM...]",
		Short: "Take jobs again after 'agent drain'",
		Long: `Resume tells the running agent that its workers may fetch jobs again and removes the drain
mark from state_dir. With VM arguments only those workers, drained with 'agent drain VM',
take jobs again; the host-wide drain is left as it is. Exit codes: 0 resumed, 1 no agent or
the agent refused.`,
		RunE: func(cmd *cobra.Command, vms []string) error {
			r, err := a.callAgent(context.Background(), sf, control.Request{Op: control.OpResume, VMs: vms}, nil)
			if err != nil {
				return err
			}
			if len(vms) > 0 {
				fmt.Fprintf(a.stdout, "Resumed %s: taking jobs again.\n", strings.Join(vms, ", "))
				return nil
			}
			fmt.Fprintf(a.stdout, "Resumed %s: workers take jobs again.\n", r.Status.Host)
			return nil
		},
	}
	sf.add(cmd)
	return cmd
}
