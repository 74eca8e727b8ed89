package vbox

// This file serialises mutations: one mutating operation per VM at a time (VirtualBox's
// write lock would otherwise turn concurrent calls into lock errors and retries), and at
// most Config.MaxParallel mutating VBoxManage processes at once.

import "context"

// Queued reports how many mutating calls are waiting for one of the MaxParallel slots.
func (d *Driver) Queued() int { return int(d.slotWaiters.Load()) }

// vmEntry is the mutation lock of one VM. refs counts holders and waiters so the entry can be
// dropped from Driver.vms when nobody needs it; it is guarded by Driver.mu.
type vmEntry struct {
	lock chan struct{} // capacity 1: holding the token is holding the lock
	refs int
}

// lockVM waits until no other mutation of vm runs in this driver, or ctx ends. VMs are keyed
// by UUID when the driver knows it (resolve.go), so a name and the UUID of one VM share a lock.
func (d *Driver) lockVM(ctx context.Context, vm string) (unlock func(), err error) {
	vm = d.lockKey(vm)
	d.mu.Lock()
	e := d.vms[vm]
	if e == nil {
		e = &vmEntry{lock: make(chan struct{}, 1)}
		d.vms[vm] = e
	}
	e.refs++
	d.mu.Unlock()

	release := func() {
		d.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(d.vms, vm)
		}
		d.mu.Unlock()
	}
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	return func() {
		<-e.lock
		release()
	}, nil
}

// acquireSlot waits for one of the MaxParallel mutation slots, or for ctx to end.
func (d *Driver) acquireSlot(ctx context.Context) (release func(), err error) {
	d.slotWaiters.Add(1)
	defer d.slotWaiters.Add(-1)
	select {
	case d.slots <- struct{}{}:
		return func() { <-d.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// withVM runs fn while holding vm's mutation lock. Composite operations (shutdown with a
// deadline, allocating a port and adding the forward) hold it across all their calls.
func (d *Driver) withVM(ctx context.Context, vm string, fn func() error) error {
	unlock, err := d.lockVM(ctx, vm)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}
