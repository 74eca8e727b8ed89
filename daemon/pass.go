// One reconcile pass: observe, mark, diff, hand over, apply what may run, start workers. The
// pass runs in the loop's goroutine; workers only report events and are read under their own
// locks, so a long apply never blocks a job.
package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fleet-agent/fleet/metrics"
	"github.com/fleet-agent/fleet/reconcile"
)

// dirtyDir, in state_dir, holds one file per VM a job may have changed without a rollback
// since: the VMs a new agent must reset before their first job.
const dirtyDir = "dirty"

// disruptive reports whether an action of kind takes a VM away from its worker.
func disruptive(k reconcile.Kind) bool {
	switch k {
	case reconcile.KindDestroyWorker, reconcile.KindRepairWorker, reconcile.KindReplaceWorker, reconcile.KindDestroyOrphan:
		return true
	}
	return false
}

// pass runs one reconcile pass. Errors are logged and recorded for status; the next pass
// starts afresh.
func (d *Daemon) pass(ctx, jobCtx context.Context) {
	inv, err := d.cfg.Engine.Observe(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("observe_failed", "err", err)
		}
		d.finishPass(fmt.Errorf("observe: %w", err))
		return
	}
	d.mu.Lock()
	d.forgetGoneLocked(inv)
	desired := d.desired
	desired.Replace = d.op.replaceIDs()
	d.markLocked(&inv)
	plan := reconcile.Diff(desired, inv)
	d.handOverLocked(plan, inv)
	// The handover may have taken VMs (their workers were idle): diff again with the new marks,
	// so the plan applied is the one Diff makes for exactly this state.
	d.markLocked(&inv)
	plan = reconcile.Diff(desired, inv)
	d.backoff.forget(plan)
	now := d.now()
	run, held := filterPlan(plan, func(a reconcile.Action) bool {
		if d.backoff.blocked(a.ID, now) {
			return true
		}
		return disruptive(a.Kind) && a.TargetID != "" && !d.taken[a.TargetID] && d.hasWorkerLocked(a.TargetID)
	})
	d.inv = inv
	d.lastPlan, d.lastPlanAt = plan, now
	d.startWorkersLocked(jobCtx, inv, plan)
	d.updateGatesLocked()
	var waiting []string
	for _, a := range plan.Actions {
		if a.Waiting != "" {
			waiting = append(waiting, a.ID+": "+a.Waiting)
		}
	}
	for _, id := range held {
		waiting = append(waiting, id+": held (handover or backoff)")
	}
	d.waiting = waiting
	d.publishVMsLocked(inv)
	d.notifyLocked()
	d.mu.Unlock()

	if run.Runnable() == 0 {
		d.finishPass(nil)
		return
	}
	d.log.Info("apply_started", "actions", run.Runnable())
	err = d.cfg.Engine.Apply(ctx, desired, run, d.onEvent)
	if err != nil && ctx.Err() == nil {
		d.log.Warn("apply_failed", "err", err)
	}
	d.finishPass(err)
	// What was applied changed the host: look again at once, so new workers start serving.
	d.requestPass()
}

// finishPass records the end of a pass.
func (d *Daemon) finishPass(err error) {
	d.cfg.Metrics.Pass(err != nil)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.passes++
	d.lastPass = d.now()
	d.lastErr = ""
	if err != nil {
		d.lastErr = err.Error()
	}
	d.notifyLocked()
}

// onEvent feeds apply events to the backoff and the metrics.
func (d *Daemon) onEvent(e reconcile.Event) {
	switch e.Type {
	case reconcile.EventDone, reconcile.EventFailed, reconcile.EventSkipped, reconcile.EventRetry:
		d.cfg.Metrics.Action(string(e.Action.Kind), string(e.Type))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch e.Type {
	case reconcile.EventDone:
		d.backoff.succeed(e.Action.ID)
		d.log.Info("action_done", "action", e.Action.ID, "took", e.Took)
	case reconcile.EventFailed:
		at := d.backoff.fail(e.Action.ID, e.Err, d.now())
		d.log.Warn("action_failed", "action", e.Action.ID, "err", e.Err, "retry_at", at)
	}
}

// forgetGoneLocked drops marks of VMs that no longer exist.
func (d *Daemon) forgetGoneLocked(inv reconcile.Inventory) {
	ids := map[string]bool{}
	for _, v := range inv.VMs {
		ids[v.ID] = true
	}
	for _, m := range []map[string]bool{d.cordoned, d.taken} {
		for id := range m {
			if !ids[id] {
				delete(m, id)
			}
		}
	}
	for id := range d.broken {
		if !ids[id] {
			delete(d.broken, id)
		}
	}
	if st := d.op.clone(); st.forget(ids) {
		if err := d.saveOpLocked(st); err != nil {
			d.log.Error("operator_state_save_failed", "err", err)
		} else {
			d.log.Info("replace_progress", "pending", len(st.Replace))
		}
	}
	if marks, err := os.ReadDir(filepath.Join(d.path, dirtyDir)); err == nil {
		for _, m := range marks {
			if !ids[m.Name()] {
				os.Remove(filepath.Join(d.path, dirtyDir, m.Name()))
			}
		}
	}
	// A worker whose VM vanished (destroyed by hand) stops; its job, if any, fails over SSH
	// and the sandbox requeues it.
	for id, w := range d.workers {
		if !ids[id] {
			w.stop()
		}
	}
	d.reapWorkersLocked()
}

// reapWorkersLocked forgets workers whose goroutine has exited, recording a broken VM.
func (d *Daemon) reapWorkersLocked() {
	for id, w := range d.workers {
		st := w.snapshot()
		if !st.exited {
			continue
		}
		if st.broken != nil {
			d.broken[id] = st.broken.Error()
		}
		delete(d.workers, id)
	}
}

// markLocked copies the daemon's knowledge into the inventory's marks.
func (d *Daemon) markLocked(inv *reconcile.Inventory) {
	for i := range inv.VMs {
		v := &inv.VMs[i]
		v.Busy, v.Broken, v.Cordoned = false, false, false
		if w := d.workers[v.ID]; w != nil && w.snapshot().job != nil {
			v.Busy = true
		}
		if _, ok := d.broken[v.ID]; ok {
			v.Broken = true
		}
		v.Cordoned = d.cordoned[v.ID] || d.taken[v.ID] || d.heldLocked(v.Name)
	}
}

func (d *Daemon) hasWorkerLocked(id string) bool {
	_, ok := d.workers[id]
	return ok
}

// handOverLocked cordons the VMs plan wants to take from their workers and takes those whose
// worker is idle. Replacements are cordoned within each pool's max_unavailable, counting every
// slot that is not serving; destroys and repairs are not limited (the VM is surplus or already
// out of service). A cordon whose action left the plan (the edit was reverted) is lifted.
func (d *Daemon) handOverLocked(plan reconcile.Plan, inv reconcile.Inventory) {
	wanted := map[string]bool{}
	var replaces []reconcile.Action
	for _, a := range plan.Actions {
		if !disruptive(a.Kind) || a.TargetID == "" {
			continue
		}
		wanted[a.TargetID] = true
		if a.Kind == reconcile.KindReplaceWorker {
			if !d.cordoned[a.TargetID] && !readyToTake(plan, a) {
				continue
			}
			replaces = append(replaces, a)
			continue
		}
		d.cordoned[a.TargetID] = true
	}
	for id := range d.cordoned {
		if !wanted[id] && !d.taken[id] {
			delete(d.cordoned, id)
		}
	}
	// Rolling replacement: idle VMs first, then by worker index, within the budget.
	sort.SliceStable(replaces, func(i, j int) bool {
		bi, bj := d.busyLocked(replaces[i].TargetID), d.busyLocked(replaces[j].TargetID)
		if bi != bj {
			return !bi
		}
		return replaces[i].Target < replaces[j].Target
	})
	unavailable := d.unavailableLocked(inv)
	for _, a := range replaces {
		if d.cordoned[a.TargetID] {
			continue
		}
		// A worker drained by an operator serves no job already: replacing it costs nothing.
		if d.heldLocked(a.Target) {
			d.cordoned[a.TargetID] = true
			continue
		}
		p := d.fleet.Pool(a.Pool)
		limit := 1
		if p != nil {
			limit = max(p.Rollout.MaxUnavailable, 1)
		}
		if unavailable[a.Pool] >= limit {
			continue
		}
		d.cordoned[a.TargetID] = true
		unavailable[a.Pool]++
		d.log.Info("vm_cordoned", "vm", a.Target, "action", a.ID)
	}
	d.updateGatesLocked()
	for id := range d.cordoned {
		w := d.workers[id]
		if w == nil {
			d.taken[id] = true
			continue
		}
		if w.idle() {
			w.stop()
			delete(d.workers, id)
			d.taken[id] = true
			d.log.Info("vm_handed_over", "vm", w.vm.Name)
		}
	}
}

// readyToTake reports whether a replacement could run once its VM is handed over: nothing it
// depends on (a new golden image) is still to be built. Cordoning earlier would take a worker
// out of service for the whole build.
func readyToTake(plan reconcile.Plan, a reconcile.Action) bool {
	for _, dep := range a.DependsOn {
		if da := plan.Action(dep); da != nil && da.Kind != reconcile.KindReplaceWorker {
			return false
		}
	}
	return true
}

func (d *Daemon) busyLocked(id string) bool {
	w := d.workers[id]
	return w != nil && w.snapshot().job != nil
}

// unavailableLocked counts, per pool, the worker slots not serving: desired VMs minus the
// VMs with a worker that is ready (registered, its VM reset), not broken, and neither
// cordoned nor drained by an operator. A replacement's new worker that is still starting is
// out of service: counting it would let the next replacement begin before it serves.
func (d *Daemon) unavailableLocked(inv reconcile.Inventory) map[string]int {
	out := map[string]int{}
	for _, p := range d.fleet.Pools {
		serving := 0
		for _, v := range inv.VMs {
			if v.Role == reconcile.RoleWorker && v.Pool == p.Name && d.workers[v.ID].serves() && !d.cordoned[v.ID] &&
				!d.heldLocked(v.Name) {
				serving++
			}
		}
		out[p.Name] = max(p.VMs-serving, 0)
	}
	return out
}

// startWorkersLocked starts a worker on every converged worker VM without one: ready phase,
// running, ready snapshot, not broken or handed over, and no action of plan targeting it.
func (d *Daemon) startWorkersLocked(jobCtx context.Context, inv reconcile.Inventory, plan reconcile.Plan) {
	targeted := map[string]bool{}
	for _, a := range plan.Actions {
		if a.TargetID != "" {
			targeted[a.TargetID] = true
		}
	}
	if d.stopping {
		return
	}
	for _, v := range inv.VMs {
		if v.Role != reconcile.RoleWorker || v.Phase != reconcile.PhaseReady || v.Power != reconcile.PowerRunning ||
			!v.HasSnapshot(reconcile.SnapshotReady) || targeted[v.ID] || d.cordoned[v.ID] || d.taken[v.ID] ||
			d.workers[v.ID] != nil {
			continue
		}
		if _, bad := d.broken[v.ID]; bad {
			continue
		}
		pool := d.fleet.Pool(v.Pool)
		if pool == nil {
			continue
		}
		gen := d.queue
		slot, err := gen.q.NewSlot(v.Name, pool.Queues)
		if err != nil {
			d.log.Error("worker_slot_failed", "vm", v.Name, "err", err)
			continue
		}
		rslot := &reportSlot{Slot: slot, rep: d.cfg.Report, now: d.now}
		runner, err := d.cfg.Sandboxes.New(v, pool, gen.q.Jobs(), rslot)
		if err != nil {
			d.log.Error("worker_sandbox_failed", "vm", v.Name, "err", err)
			continue
		}
		w := &worker{
			vm: v, slot: slot, runner: runner, met: d.cfg.Metrics, now: d.now,
			report: rslot, host: d.fleet.Host.Name,
			log:       d.log.With("vm", v.Name, "pool", v.Pool),
			events:    func(*worker) { d.workerEvent() },
			dirty:     filepath.Join(d.path, dirtyDir, v.ID),
			submitted: gen.q.SubmittedAt,
			gate:      make(chan struct{}),
			done:      make(chan struct{}),
		}
		w.quitCtx, w.quitCancel = context.WithCancel(jobCtx)
		d.workers[v.ID] = w
		d.workersWG.Add(1)
		gen.workers.Add(1)
		go func() {
			defer d.workersWG.Done()
			defer gen.workers.Done()
			w.run(jobCtx)
		}()
	}
}

// workerEvent is a worker's report: status changed and a pass may have work (a handover).
func (d *Daemon) workerEvent() {
	d.mu.Lock()
	d.notifyLocked()
	d.mu.Unlock()
	d.requestPass()
}

// updateGatesLocked opens the gate of every worker that may fetch and closes the others.
func (d *Daemon) updateGatesLocked() {
	for id, w := range d.workers {
		w.setOpen(!d.stopping && !d.drain.Draining && !d.cordoned[id] && !d.heldLocked(w.vm.Name))
	}
}

// publishVMsLocked updates the VM gauge.
func (d *Daemon) publishVMsLocked(inv reconcile.Inventory) {
	if d.cfg.Metrics == nil {
		return
	}
	counts := map[metrics.VMKey]int{}
	for _, v := range inv.VMs {
		counts[metrics.VMKey{Pool: v.Pool, Role: v.Role, State: vmState(v, d.workers[v.ID], d.cordoned[v.ID])}]++
	}
	d.cfg.Metrics.SetVMs(counts)
}

// vmState is the one-word state of a VM for status and metrics.
func vmState(v reconcile.VM, w *worker, cordoned bool) string {
	switch {
	case v.Broken:
		return "broken"
	case v.Rejected != "":
		return "rejected"
	case v.Phase == reconcile.PhaseCreating:
		return "creating"
	case w != nil && w.snapshot().job != nil:
		return "busy"
	case cordoned:
		return "handover"
	case v.Role == reconcile.RoleWorker && w != nil:
		return "idle"
	}
	return strings.ToLower(string(v.Power))
}
