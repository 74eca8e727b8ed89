package vbox

// This file allocates forwarded host ports. The allocation is a critical section across every
// process on the host (a file lock in Config.LockDir): read every VM's forwards, pick the
// lowest free port of Config.PortRange, add the rule, release. Nothing probes a port by
// binding it: a stopped VM's forward is not bound but still owns its port.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// ErrNoFreePort means every port of Config.PortRange is used by some VM's forward.
var ErrNoFreePort = errors.New("vbox: no free port in range")

// portsLockRetry is how often a waiting allocator retries the host-wide file lock.
const portsLockRetry = 20 * time.Millisecond

// AllocateForward gives the VM a NAT rule called name from a free host port in
// Config.PortRange, bound to 127.0.0.1, to guestPort on adapter 1, and returns it. If the VM
// already has a rule called name to guestPort, that rule is returned unchanged, so the call
// is idempotent. The free port is chosen against the forwards of every registered VM.
func (d *Driver) AllocateForward(ctx context.Context, vm, name string, guestPort int) (Forward, error) {
	lo, hi := d.cfg.PortRange[0], d.cfg.PortRange[1]
	if lo <= 0 || hi < lo || hi > 65535 {
		return Forward{}, fmt.Errorf("allocate forward %s for %s: invalid port range %d-%d", name, vm, lo, hi)
	}
	unlock, err := d.lockPorts(ctx)
	if err != nil {
		return Forward{}, fmt.Errorf("allocate forward %s for %s: %w", name, vm, err)
	}
	defer unlock()

	var out Forward
	err = d.withVM(ctx, vm, func() error {
		used, target, err := d.usedPorts(ctx, vm)
		if err != nil {
			return err
		}
		for _, f := range target.Forwards {
			if f.Name != name {
				continue
			}
			if f.GuestPort == guestPort && f.NIC == 1 {
				out = f
				return nil
			}
			return fmt.Errorf("rule %s exists to guest port %d: %w", name, f.GuestPort, ErrAlreadyExists)
		}
		port := 0
		for p := lo; p <= hi; p++ {
			if !used[p] {
				port = p
				break
			}
		}
		if port == 0 {
			return fmt.Errorf("%d-%d: %w", lo, hi, ErrNoFreePort)
		}
		f := Forward{NIC: 1, Name: name, Proto: "tcp", HostIP: loopback, HostPort: port, GuestPort: guestPort}
		if err := d.addForward(ctx, vm, target.State, f); err != nil {
			return err
		}
		out = f
		return nil
	})
	if err != nil {
		return Forward{}, fmt.Errorf("allocate forward %s for %s: %w", name, vm, err)
	}
	return out, nil
}

// usedPorts returns the host ports of every registered VM's forwards and the info of vm.
func (d *Driver) usedPorts(ctx context.Context, vm string) (map[int]bool, *VMInfo, error) {
	refs, err := d.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	used := map[int]bool{}
	var target *VMInfo
	for _, r := range refs {
		if r.Inaccessible {
			continue
		}
		info, err := d.showInfo(ctx, r.UUID)
		if errors.Is(err, ErrNotFound) {
			continue // deleted since the list: its ports are free
		}
		if err != nil {
			return nil, nil, err
		}
		for _, f := range info.Forwards {
			used[f.HostPort] = true
		}
		if r.Name == vm || r.UUID == strings.ToLower(strings.Trim(vm, "{}")) {
			target = info
		}
	}
	if target == nil {
		return nil, nil, fmt.Errorf("vm %s: %w", vm, ErrNotFound)
	}
	return used, target, nil
}

// lockPorts takes the in-process and the host-wide allocation locks.
func (d *Driver) lockPorts(ctx context.Context) (unlock func(), err error) {
	select {
	case d.portsLock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := os.MkdirAll(d.cfg.LockDir, 0o755); err != nil {
		<-d.portsLock
		return nil, fmt.Errorf("lock dir: %w", err)
	}
	fl := flock.New(filepath.Join(d.cfg.LockDir, "ports.lock"))
	ok, err := fl.TryLockContext(ctx, portsLockRetry)
	if err != nil || !ok {
		<-d.portsLock
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("lock %s: %w", fl.Path(), err)
	}
	return func() {
		_ = fl.Unlock() // closing the descriptor releases the lock even if this fails
		<-d.portsLock
	}, nil
}
