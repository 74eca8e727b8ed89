// The status subcommand: this host as the running agent sees it (VMs, workers, jobs, the spec
// in force, a rejected edit, drain), or with --fleet every host's workers from the shared
// Redis. One view per format: renderStatus (text) and the control.Status JSON.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/reconcile"
)

func init() { commands = append(commands, newStatusCmd) }

func newStatusCmd(a *app) *cobra.Command {
	var (
		sf      socketFlag
		qf      queueFlags
		asJSON  bool
		fleetWd bool
	)
	cmd := &cobra.Command{
		Use:   "status [--json] [--fleet]",
		Short: "Show this host's VMs, workers and jobs (or the whole fleet's)",
		Long: `Status asks the running agent for this host's state: every VM with its pool, role, state,
image, the job it runs and since when, and the last job's result; VMs the agent does not
manage are listed apart; then the fleet.hcl in force, any rejected edit with its diagnostics,
and whether the host is drained. --json prints the same as JSON.

With --fleet it reads the Resque worker registry in the shared Redis instead and shows every
host: its workers, what each runs, and dead workers (no heartbeat for a minute). It needs no
running agent here.

Exit codes: 0 shown, 1 no agent (or Redis) reachable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := context.Background()
			if fleetWd {
				return a.fleetStatus(ctx, qf, asJSON)
			}
			r, err := a.callAgent(ctx, sf, control.Request{Op: control.OpStatus}, nil)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r.Status)
			}
			return renderStatus(a.stdout, r.Status, time.Now())
		},
	}
	sf.add(cmd)
	qf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&fleetWd, "fleet", false, "show every host of the fleet from the shared Redis")
	return cmd
}

// renderStatus prints st for humans; now makes ages reproducible in tests.
func renderStatus(w io.Writer, st *control.Status, now time.Time) error {
	ew := &errWriter{w: w}
	ew.printf("Host %s: agent pid %d, up %s\n", st.Host, st.PID, age(now, st.StartedAt))
	if st.Draining {
		line := "DRAINED"
		if st.DrainSince != nil {
			line += " since " + clock(*st.DrainSince)
		}
		if st.DrainDeadline != nil {
			line += ", running jobs cancelled at " + clock(*st.DrainDeadline)
		}
		ew.printf("State: %s (agent resume to take jobs again)\n", line)
	} else {
		ew.printf("State: serving\n")
	}
	ew.printf("Spec: %s, loaded %s\n", strings.Join(st.Spec.Files, ", "), clock(st.Spec.LoadedAt))
	if st.Rejected != nil {
		if len(st.Rejected.RestartNeeded) > 0 {
			ew.printf("Pending edit at %s needs a restart (%s); the spec above stays in force:\n",
				clock(st.Rejected.At), strings.Join(st.Rejected.RestartNeeded, ", "))
		} else {
			ew.printf("Rejected edit at %s (the spec above stays in force):\n", clock(st.Rejected.At))
		}
		for _, l := range strings.Split(strings.TrimRight(st.Rejected.Diagnostics, "\n"), "\n") {
			if strings.TrimSpace(l) == "" {
				ew.printf("\n")
				continue
			}
			ew.printf("  %s\n", l)
		}
	}
	rec := fmt.Sprintf("%d passes", st.Reconcile.Passes)
	if !st.Reconcile.LastPass.IsZero() {
		rec += ", last " + clock(st.Reconcile.LastPass)
	}
	if st.Reconcile.LastError != "" {
		rec += ", last error: " + st.Reconcile.LastError
	}
	for _, p := range st.PasswordPools {
		ew.printf("Pool %s: %s\n", p, reconcile.PasswordsAllowed)
	}
	ew.printf("Reconcile: %s\n", rec)
	for _, wt := range st.Reconcile.Waiting {
		ew.printf("  waiting: %s\n", wt)
	}
	for _, r := range st.Replacing {
		ew.printf("  replacing: %s\n", r)
	}
	ew.printf("\n")
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VM\tPOOL\tROLE\tSTATE\tIMAGE\tJOB\tLAST")
	for _, v := range st.VMs {
		job := "-"
		if v.Job != nil {
			job = fmt.Sprintf("%s (%s, attempt %d, %s)", v.Job.ID, v.Job.Queue, v.Job.Attempt, age(now, v.Job.Since))
		} else if v.Worker != "" && !v.Serving && v.Why != "" {
			job = "not fetching: " + v.Why
		} else if v.Why != "" {
			job = v.Why
		}
		state := v.State
		if v.Drained && state != "drained" {
			state += " (drained)"
		}
		if v.Restart {
			state += " (restart pending)"
		}
		last := "-"
		if v.Last != nil {
			last = fmt.Sprintf("%s %s (%s, %s ago)", v.Last.ID, v.Last.State, time.Duration(v.Last.Took).Round(time.Second), age(now, v.Last.At))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, dash(v.Pool), v.Role, state, dash(v.Image), job, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var rejected []control.VMStatus
	for _, v := range st.VMs {
		if v.Rejected != "" {
			rejected = append(rejected, v)
		}
	}
	if len(rejected) > 0 {
		ew.printf("\nRejected golden images (not used; the next pass destroys and rebuilds them):\n")
		for _, v := range rejected {
			ew.printf("  %s (pool %s): %s\n", v.Name, dash(v.Pool), v.Rejected)
		}
	}
	if len(st.Foreign) > 0 {
		ew.printf("\nOther VMs on this host (not managed by this agent):\n")
		for _, f := range st.Foreign {
			owner := "no owner"
			if f.Owner != "" {
				owner = "owned by " + f.Owner
			}
			ew.printf("  %s (%s)\n", f.Name, owner)
		}
	}
	if len(st.Failures) > 0 {
		ew.printf("\nFailing actions:\n")
		for _, f := range st.Failures {
			ew.printf("  %s: %d failures, next try %s: %s\n", f.ID, f.Failures, clock(f.RetryAt), f.Error)
		}
	}
	return ew.err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clock prints a time of day in UTC, the journal's zone on build hosts.
func clock(t time.Time) string { return t.UTC().Format("15:04:05") }

// age prints how long ago t was, rounded for reading.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if d := now.Sub(t); d < time.Hour {
		return d.Round(time.Second).String()
	} else {
		return d.Round(time.Minute).String()
	}
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
