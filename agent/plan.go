// The plan subcommand, and the observe -> diff wiring it shares with apply: load fleet.hcl,
// fingerprint each pool's provisioning, observe the providers (VirtualBox, QEMU) and the box
// cache, and diff. `agent plan` prints the result as text (Terraform-like) or JSON.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/reconcile/boxcache"
	"github.com/fleet-agent/fleet/spec"
)

func init() { commands = append(commands, newPlanCmd) }

func newPlanCmd(a *app) *cobra.Command {
	var asJSON, detailed bool
	var replace []string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change on this host",
		Long: `Plan loads fleet.hcl, observes the VirtualBox VMs this host's agent owns and prints the
actions that would make them match: one line per action with + (create), ~ (change in place),
-/+ (destroy and recreate) or - (destroy), the VM and the reason, then a summary. Actions on a
worker that is running a job are shown as waiting. Nothing is changed.

With -replace=TARGET (repeatable) the plan also destroys and recreates TARGET and everything
built on it, shown as -/+ with the reason "replacement requested": a worker (ruby-3), a pool's
golden image (golden.ruby: rebuilt from the box, then every worker of the pool, one by one
within rollout.max_unavailable) or a box (box.lucid32: downloaded, verified and imported again,
then its goldens and their workers). An unknown target is answered with the valid ones.

With --json the plan is printed in the stable JSON form documented in docs/PLAN-JSON.md. With
--detailed-exitcode the exit code is 0 when there are no changes, 1 on error and 2 when there
are changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.diagsJSON = asJSON
			r, err := a.openReconcile(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer r.close()
			r.replace = replace
			plan, err := r.plan(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				b, err := json.MarshalIndent(plan, "", "  ")
				if err == nil {
					b, err = planWithDiagnostics(append(b, '\n'), r.diags, r.files)
				}
				if err != nil {
					return fmt.Errorf("write plan: %w", err)
				}
				if _, err := a.stdout.Write(b); err != nil {
					return fmt.Errorf("write plan: %w", err)
				}
			} else if err := reconcile.Render(a.stdout, plan, reconcile.RenderOptions{Color: colorOn(a.stdout)}); err != nil {
				return fmt.Errorf("write plan: %w", err)
			}
			if detailed && !plan.Empty() {
				return exitCodeError{exitChanges}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON (docs/PLAN-JSON.md)")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 with no changes, 1 on error, 2 with changes")
	addReplaceFlag(cmd, &replace)
	return cmd
}

// reconciler is what plan and apply share: the loaded fleet and its desired state, the
// provider and box cache, and the host's apply lock.
type reconciler struct {
	fleet    *spec.Fleet
	desired  reconcile.Desired
	provider *hostProviders
	cache    *boxcache.Cache
	lock     *flock.Flock
	locked   bool
	// replace are the -replace targets; the first plan resolves them into desired.Replace,
	// which later passes of the same apply keep.
	replace  []string
	resolved bool
	// diags are the warnings of the loaded fleet, files its sources (for plan --json).
	diags hcl.Diagnostics
	files map[string]*hcl.File
}

// openReconcile loads fleet.hcl (printing its diagnostics; an invalid fleet plans nothing)
// and wires the providers (VirtualBox, QEMU: providers.go). With wait, it blocks until it
// holds the host's apply lock; otherwise it takes the lock only if free, so a plan beside a
// running apply still works.
func (a *app) openReconcile(ctx context.Context, wait bool) (*reconciler, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	path, err := a.configFile()
	if err != nil {
		return nil, err
	}
	loader := spec.NewLoader()
	fleet, diags := loader.Load(path)
	if a.diagsJSON && diags.HasErrors() {
		if err := writeDiagnosticsJSON(a.stdout, diags, loader.Files()); err != nil {
			return nil, err
		}
		return nil, exitCodeError{exitError}
	}
	if len(diags) > 0 && !a.diagsJSON {
		width, color := diagStyle(a.stderr)
		if err := loader.WriteDiagnostics(a.stderr, diags, width, color); err != nil {
			return nil, fmt.Errorf("write diagnostics: %w", err)
		}
	}
	if diags.HasErrors() {
		fmt.Fprintf(a.stderr, "%s is invalid: %s; nothing planned.\n", path, countErrors(diags))
		return nil, exitCodeError{exitError}
	}
	fps, err := reconcile.Fingerprints(fleet)
	if err != nil {
		return nil, err
	}
	log, err := a.logger()
	if err != nil {
		return nil, err
	}
	state := fleet.Host.StateDir
	if err := os.MkdirAll(state, 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	prov, err := openProviders(fleet, log)
	if err != nil {
		return nil, err
	}
	r := &reconciler{
		fleet: fleet, desired: reconcile.NewDesired(fleet, fps), provider: prov,
		diags: diags, files: loader.Files(),
		cache: &boxcache.Cache{Dir: filepath.Join(state, "boxes")},
		lock:  flock.New(filepath.Join(state, "apply.lock")),
	}
	if isTerminal(a.stderr) {
		r.cache.Progress = a.stderr
	}
	if wait {
		if isTerminal(a.stderr) {
			if ok, _ := r.lock.TryLock(); !ok {
				fmt.Fprintln(a.stderr, "Waiting for another apply on this host to finish...")
			} else {
				r.locked = true
			}
		}
		if !r.locked {
			if _, err := r.lock.TryLockContext(ctx, 500*time.Millisecond); err != nil {
				return nil, fmt.Errorf("apply lock: %w", err)
			}
			r.locked = true
		}
	} else if ok, err := r.lock.TryLock(); err == nil && ok {
		r.locked = true
	}
	return r, nil
}

func (r *reconciler) close() {
	if r.locked {
		r.lock.Unlock()
	}
}

// observe reads the host now. The inventory is exclusive only while this process holds the
// apply lock.
func (r *reconciler) observe(ctx context.Context) (reconcile.Inventory, error) {
	return reconcile.Observe(ctx, r.provider, r.cache, r.locked, time.Now())
}

// plan observes and diffs.
func (r *reconciler) plan(ctx context.Context) (reconcile.Plan, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	inv, err := r.observe(ctx)
	if err != nil {
		return reconcile.Plan{}, err
	}
	if !r.resolved {
		ids, err := resolveReplace(r.desired, inv, r.replace)
		if err != nil {
			return reconcile.Plan{}, err
		}
		r.desired.Replace, r.resolved = ids, true
	}
	return reconcile.Diff(r.desired, inv), nil
}

// colorOn reports whether output to w gets colour: a terminal, and NO_COLOR not set.
func colorOn(w io.Writer) bool {
	_, noColor := os.LookupEnv("NO_COLOR")
	return isTerminal(w) && !noColor
}
