// Operator controls of single workers, the control socket's control.VMHandler: drain and resume
// one worker (persisted in operator.json), replace a worker, a pool's golden or a box (through
// reconcile, like an edit of fleet.hcl) and restart a worker (roll it back to ready now).
// Every name is checked against the last observation first: an unknown one is answered with
// the valid ones, a VM this agent does not own is refused, and nothing changes.
package daemon

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/reconcile"
)

var _ control.VMHandler = (*Daemon)(nil)

// errNoObservation answers requests made before the first pass observed the host.
var errNoObservation = errors.New("the agent has not observed this host yet; try again in a moment")

// checkWorkersLocked refuses unknown and foreign names, all of them in one error.
func (d *Daemon) checkWorkersLocked(vms []string) error {
	if d.passes == 0 && len(d.inv.VMs) == 0 {
		return errNoObservation
	}
	var errs []error
	for _, name := range vms {
		if _, err := d.inv.Worker(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// heldLocked reports whether worker name was drained by an operator.
func (d *Daemon) heldLocked(name string) bool {
	_, ok := d.op.Drained[name]
	return ok
}

// saveOpLocked persists st and makes it the state in force.
func (d *Daemon) saveOpLocked(st OperatorState) error {
	if err := SaveOperatorState(d.path, st); err != nil {
		return err
	}
	d.op = st
	return nil
}

// DrainVMs stops the named workers fetching, persistently (control.VMHandler). Their running
// jobs go on, or with r.Force are canceled and requeued.
func (d *Daemon) DrainVMs(vms []string, r control.DrainRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkWorkersLocked(vms); err != nil {
		return err
	}
	st := d.op.clone()
	if st.Drained == nil {
		st.Drained = map[string]time.Time{}
	}
	for _, name := range vms {
		if _, ok := st.Drained[name]; !ok {
			st.Drained[name] = d.now()
		}
	}
	if err := d.saveOpLocked(st); err != nil {
		return err
	}
	d.updateGatesLocked()
	for _, name := range vms {
		d.log.Info("vm_drained", "vm", name, "force", r.Force)
		if w := d.workerNamedLocked(name); w != nil && r.Force && w.cancel() {
			d.log.Warn("job_canceled_by_drain", "vm", name, "why", "drain VM --force")
		}
	}
	d.notifyLocked()
	d.requestPass()
	return nil
}

// ResumeVMs lets the named workers fetch again (control.VMHandler).
func (d *Daemon) ResumeVMs(vms []string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var unknown []string
	for _, name := range vms {
		if !d.heldLocked(name) {
			unknown = append(unknown, name)
		}
	}
	if err := d.checkWorkersLocked(unknown); err != nil {
		return err
	}
	st := d.op.clone()
	for _, name := range vms {
		delete(st.Drained, name)
	}
	if len(st.Drained) == 0 {
		st.Drained = nil
	}
	if err := d.saveOpLocked(st); err != nil {
		return err
	}
	d.updateGatesLocked()
	for _, name := range vms {
		d.log.Info("vm_resumed", "vm", name)
	}
	d.notifyLocked()
	d.requestPass()
	return nil
}

// Replace has target and what is built on it replaced by reconcile (control.VMHandler).
func (d *Daemon) Replace(target string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.passes == 0 && len(d.inv.VMs) == 0 {
		return errNoObservation
	}
	ids, err := reconcile.ResolveReplace(d.desired, d.inv, target)
	if err != nil {
		return err
	}
	st := d.op.clone()
	st.Replace = append(st.Replace, ReplaceRequest{Target: target, At: d.now(), IDs: ids})
	if err := d.saveOpLocked(st); err != nil {
		return err
	}
	d.log.Info("replace_requested", "target", target, "vms", len(ids))
	d.notifyLocked()
	d.requestPass()
	return nil
}

// Restart rolls the named workers back to their ready snapshot after their running job, or at
// once with force (control.VMHandler).
func (d *Daemon) Restart(vms []string, force bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkWorkersLocked(vms); err != nil {
		return err
	}
	var ws []*worker
	for _, name := range vms {
		w := d.workerNamedLocked(name)
		if w == nil || w.snapshot().exited {
			return fmt.Errorf("%s: no worker serves it now (reconcile is changing it or it is not converged); nothing to restart", name)
		}
		ws = append(ws, w)
	}
	for _, w := range ws {
		canceled := w.restart(force)
		d.log.Info("vm_restart_requested", "vm", w.vm.Name, "force", force, "job_canceled", canceled)
	}
	d.notifyLocked()
	return nil
}

// workerNamedLocked returns the worker serving the VM called name, or nil.
func (d *Daemon) workerNamedLocked(name string) *worker {
	for _, w := range d.workers {
		if w.vm.Name == name {
			return w
		}
	}
	return nil
}

// replacingLocked describes the pending replacement requests for status.
func (d *Daemon) replacingLocked() []string {
	var out []string
	for _, r := range d.op.Replace {
		out = append(out, fmt.Sprintf("%s (%d VMs left)", r.Target, len(r.IDs)))
	}
	slices.Sort(out)
	return out
}

// drainedNames lists the drained workers, for logs.
func (d *Daemon) drainedNames() string {
	var names []string
	for n := range d.op.Drained {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}
