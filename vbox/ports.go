package vbox

// This file allocates forwarded host ports. The allocation is a critical section across every
// process and provider on the host (package ports: a file lock in Config.LockDir): read every
// VM's forwards and the ports other programs already listen on (ports.Listening reads the
// kernel's socket tables), pick the lowest free port of Config.PortRange, add the rule, release.
// Nothing probes a port by binding it: a stopped VM's forward is not bound but still owns its
// port. VirtualBox starts a VM whose forward cannot bind and silently drops the rule, so a port
// held by another program would leave the VM unreachable.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fleet-agent/fleet/internal/ports"
)

// ErrNoFreePort means every port of Config.PortRange is used by some VM's forward. It is
// ports.ErrNoFreePort, shared with the other providers.
var ErrNoFreePort = ports.ErrNoFreePort

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
		if err := ports.Union(ctx, used, d.cfg.OtherPorts, ports.Listening); err != nil {
			return err
		}
		port, err := ports.Pick(lo, hi, used)
		if err != nil {
			return err
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

// UsedPorts returns the host ports of every registered VM's forwards, for another provider's
// allocator (ports.Used).
func (d *Driver) UsedPorts(ctx context.Context) (map[int]bool, error) {
	refs, err := d.List(ctx)
	if err != nil {
		return nil, err
	}
	used := map[int]bool{}
	for _, r := range refs {
		if r.Inaccessible {
			continue
		}
		info, err := d.showInfo(ctx, r.UUID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, f := range info.Forwards {
			used[f.HostPort] = true
		}
	}
	return used, nil
}

// lockPorts takes the host-wide allocation lock shared with every provider (package ports).
func (d *Driver) lockPorts(ctx context.Context) (unlock func(), err error) {
	return ports.Lock(ctx, d.cfg.LockDir)
}
