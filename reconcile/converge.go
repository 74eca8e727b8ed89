// Converge: the level-triggered loop `agent apply` and the daemon share. Each pass observes
// afresh, diffs and applies, so a failed action (and the debris it left) is just actual state
// for the next pass. The first pass may be given the plan the user already saw.

package reconcile

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-multierror"
)

// DefaultMaxPasses bounds the passes of one Converge.
const DefaultMaxPasses = 4

// Result is what a Converge did.
type Result struct {
	// Passes is the number of plans applied.
	Passes int
	// Failures are the errors of every failed action of every pass, in order, including those a
	// later pass recovered from.
	Failures []error
	// Final is the plan of the last observation: empty when converged, or holding waiting
	// actions (busy workers) or the actions still failing.
	Final Plan
}

// Runnable counts the actions of p that are not waiting.
func (p Plan) Runnable() int {
	n := 0
	for _, a := range p.Actions {
		if a.Waiting == "" {
			n++
		}
	}
	return n
}

// Converge applies first (when not nil) or a fresh plan, then observes and applies again
// until no runnable action is left or maxPasses (default DefaultMaxPasses) plans were
// applied. observe must return a fresh Inventory each call. The error is nil when the final
// plan has no runnable action; otherwise it holds the failures of the last pass.
func (ap *Applier) Converge(ctx context.Context, desired Desired, observe func(context.Context) (Inventory, error), first *Plan, maxPasses int) (Result, error) {
	if maxPasses <= 0 {
		maxPasses = DefaultMaxPasses
	}
	var res Result
	plan := first
	var last error
	for {
		if plan == nil {
			inv, err := observe(ctx)
			if err != nil {
				return res, fmt.Errorf("observe: %w", err)
			}
			p := Diff(desired, inv)
			res.Final = p
			if p.Runnable() == 0 {
				return res, nil
			}
			if res.Passes >= maxPasses {
				if last == nil {
					last = fmt.Errorf("not converged after %d passes: %d actions left", res.Passes, p.Runnable())
				}
				return res, last
			}
			plan = &p
		}
		res.Passes++
		last = ap.Apply(ctx, desired, *plan)
		if me, ok := last.(*multierror.Error); ok {
			res.Failures = append(res.Failures, me.Errors...)
		} else if last != nil {
			res.Failures = append(res.Failures, last)
		}
		if ctx.Err() != nil {
			return res, last
		}
		plan = nil
	}
}
