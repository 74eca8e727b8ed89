// Drain and resume, the control socket's write operations: stop fetching everywhere (persisted
// in state_dir), optionally cancel and requeue running jobs at once or at a deadline.
package daemon

import (
	"time"

	"github.com/fleet-agent/fleet/control"
)

// Drain stops every worker fetching and persists the drain (control.Handler). With Force the
// running jobs are canceled now, and requeued by their sandboxes; with a Deadline they are at
// that time. A drain of a drained host keeps its start time and takes the new deadline.
func (d *Daemon) Drain(r control.DrainRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.drain
	if !st.Draining {
		st = DrainState{Draining: true, Since: d.now()}
	}
	st.Deadline = time.Time{}
	if r.Deadline > 0 {
		st.Deadline = d.now().Add(time.Duration(r.Deadline))
	}
	st.Force = r.Force
	if err := SaveDrainState(d.path, st); err != nil {
		return err
	}
	d.drain = st
	d.cfg.Metrics.SetDraining(true)
	d.updateGatesLocked()
	d.log.Info("drain_started", "deadline", st.Deadline, "force", r.Force)
	if r.Force {
		d.cancelJobsLocked("drain --force")
	}
	d.notifyLocked()
	d.requestPass() // re-arms the deadline timer
	return nil
}

// Resume undoes Drain (control.Handler).
func (d *Daemon) Resume() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := SaveDrainState(d.path, DrainState{}); err != nil {
		return err
	}
	d.drain = DrainState{}
	d.cfg.Metrics.SetDraining(false)
	d.updateGatesLocked()
	d.log.Info("drain_ended")
	d.notifyLocked()
	return nil
}

// drainDeadline cancels the jobs still running when a drain's deadline passes.
func (d *Daemon) drainDeadline() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.drain.Draining || d.drain.Deadline.IsZero() || d.now().Before(d.drain.Deadline) {
		return
	}
	d.cancelJobsLocked("drain deadline")
}

// cancelJobsLocked cancels every running job; each sandbox requeues its job and rolls back.
func (d *Daemon) cancelJobsLocked(why string) {
	for _, w := range d.workers {
		if w.cancel() {
			d.log.Warn("job_canceled_by_drain", "vm", w.vm.Name, "why", why)
		}
	}
}
