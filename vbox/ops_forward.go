package vbox

// This file manages NAT port forwards. A stopped VM's rules change with modifyvm, which needs
// the write lock; a running VM's with controlvm natpfN. Forwards are bound to 127.0.0.1 only:
// the guests are build sandboxes and must not be reachable from the network.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// loopback is the only host address the driver binds forwards to.
const loopback = "127.0.0.1"

// AddForward adds the NAT rule f to the VM, on adapter f.NIC (default 1), with protocol
// f.Proto (default "tcp"). f.HostIP must be empty or 127.0.0.1; the rule is always bound to
// 127.0.0.1. A rule with the same name matches ErrAlreadyExists. Use AllocateForward to pick
// a free host port.
func (d *Driver) AddForward(ctx context.Context, vm string, f Forward) error {
	if _, err := normaliseForward(f); err != nil {
		return fmt.Errorf("add forward %s to %s: %w", f.Name, vm, err)
	}
	return d.withVM(ctx, vm, func() error {
		info, err := d.showInfo(ctx, vm)
		if err != nil {
			return fmt.Errorf("add forward %s: %w", f.Name, err)
		}
		return d.addForward(ctx, vm, info.State, f)
	})
}

// addForward adds f; the caller holds vm's mutation lock and knows its state.
func (d *Driver) addForward(ctx context.Context, vm, state string, f Forward) error {
	f, err := normaliseForward(f)
	if err != nil {
		return fmt.Errorf("add forward %s to %s: %w", f.Name, vm, err)
	}
	nic := strconv.Itoa(f.NIC)
	args := []string{"modifyvm", vm, "--natpf" + nic, f.Rule()}
	if IsRunning(state) {
		args = []string{"controlvm", vm, "natpf" + nic, f.Rule()}
	}
	if _, err := d.do(ctx, call{args: args, mutate: true}); err != nil {
		return fmt.Errorf("add forward %s to %s: %w", f.Name, vm, err)
	}
	return nil
}

func normaliseForward(f Forward) (Forward, error) {
	if f.NIC == 0 {
		f.NIC = 1
	}
	if f.Proto == "" {
		f.Proto = "tcp"
	}
	switch {
	case f.HostIP == "":
		f.HostIP = loopback
	case f.HostIP != loopback:
		return f, fmt.Errorf("host ip %s: forwards are bound to %s only", f.HostIP, loopback)
	}
	if f.Name == "" || f.HostPort <= 0 || f.HostPort > 65535 || f.GuestPort <= 0 || f.GuestPort > 65535 {
		return f, fmt.Errorf("invalid rule %q", f.Rule())
	}
	return f, nil
}

// DeleteForward removes the NAT rule called name from adapter nic (default 1). A missing rule
// matches ErrNotFound.
func (d *Driver) DeleteForward(ctx context.Context, vm string, nic int, name string) error {
	if nic == 0 {
		nic = 1
	}
	return d.withVM(ctx, vm, func() error {
		info, err := d.showInfo(ctx, vm)
		if err != nil {
			return fmt.Errorf("delete forward %s: %w", name, err)
		}
		n := strconv.Itoa(nic)
		args := []string{"modifyvm", vm, "--natpf" + n, "delete", name}
		if IsRunning(info.State) {
			args = []string{"controlvm", vm, "natpf" + n, "delete", name}
		}
		_, err = d.do(ctx, call{args: args, mutate: true})
		var ce *CmdError
		if errors.As(err, &ce) && ce.Class == nil && ce.Hex == "0x80070057" {
			// RemoveRedirect of an unknown rule: an invalid-argument code without extended
			// info (VBOXMANAGE.md 2.9). Only this call knows that it means "no such rule".
			ce.Class = ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("delete forward %s from %s: %w", name, vm, err)
		}
		return nil
	})
}
