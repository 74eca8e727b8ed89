// The status model: what `agent status` shows, built from the last observation and the
// workers' own state.
package daemon

import (
	"os"
	"slices"
	"strings"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/reconcile"
)

// Status returns a snapshot of the host (control.Handler).
func (d *Daemon) Status() control.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := control.Status{
		Host:      d.fleet.Host.Name,
		PID:       os.Getpid(),
		StartedAt: d.started,
		Draining:  d.drain.Draining,
		Spec: control.SpecStatus{
			Files:    slices.Clone(d.fleet.Files),
			Hash:     strings.TrimPrefix(d.specHash, "file:"),
			LoadedAt: d.loadedAt,
		},
		Rejected: d.rejected,
		Reconcile: control.PassStatus{
			Passes: d.passes, LastPass: d.lastPass, LastError: d.lastErr,
			Waiting: slices.Clone(d.waiting),
		},
		Replacing:     d.replacingLocked(),
		PasswordPools: reconcile.PasswordPools(d.desired),
	}
	if d.drain.Draining {
		since := d.drain.Since
		st.DrainSince = &since
		if !d.drain.Deadline.IsZero() {
			dl := d.drain.Deadline
			st.DrainDeadline = &dl
		}
	}
	for _, v := range d.inv.VMs {
		vs := control.VMStatus{Name: v.Name, Pool: v.Pool, Role: v.Role, Image: short(v.Image), Rejected: v.Rejected}
		w := d.workers[v.ID]
		if why, bad := d.broken[v.ID]; bad {
			v.Broken = true
			vs.Why = why
		}
		vs.State = vmState(v, w, d.cordoned[v.ID])
		held := d.heldLocked(v.Name)
		vs.Drained = held && v.Role == reconcile.RoleWorker
		if vs.Drained && vs.State == "idle" {
			vs.State = "drained"
		}
		if w != nil {
			ws := w.snapshot()
			vs.Worker = ws.id
			vs.Serving = ws.open
			vs.Job, vs.Last = ws.job, ws.last
			vs.Restart = ws.restart
			switch {
			case ws.open:
			case held && !d.cordoned[v.ID]:
				vs.Why = "drained by operator"
			case ws.job == nil && !ws.exited && !d.stopping && !d.drain.Draining && !d.cordoned[v.ID] && ws.broken == nil:
				vs.Why = "starting"
			case d.stopping:
				vs.Why = "agent stopping"
			case d.drain.Draining:
				vs.Why = "host drained"
			case d.cordoned[v.ID]:
				vs.Why = "handing over to reconcile"
			}
		}
		st.VMs = append(st.VMs, vs)
	}
	for _, f := range d.inv.Foreign {
		st.Foreign = append(st.Foreign, control.ForeignVM{Name: f.Name, Owner: f.Owner})
	}
	for id, f := range d.backoff.failed {
		st.Failures = append(st.Failures, control.ActionStatus{ID: id, Error: f.err, Failures: f.count, RetryAt: f.retryAt})
	}
	slices.SortFunc(st.Failures, func(a, b control.ActionStatus) int { return strings.Compare(a.ID, b.ID) })
	return st
}

// short abbreviates an image hash for humans.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
