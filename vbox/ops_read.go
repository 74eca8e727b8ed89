package vbox

// This file holds the read-only operations: version, VM lists, VM info and extradata reads.
// They take no mutation slot and no VM lock.

import (
	"context"
	"fmt"
	"strings"
)

// Version returns the installed VirtualBox version.
func (d *Driver) Version(ctx context.Context) (Version, error) {
	res, err := d.do(ctx, call{args: []string{"--version"}})
	if err != nil {
		return Version{}, fmt.Errorf("vbox version: %w", err)
	}
	return ParseVersion(res.stdout)
}

// List returns every registered VM (`list vms`), in registration order, including
// inaccessible ones (marked Inaccessible).
func (d *Driver) List(ctx context.Context) ([]VMRef, error) {
	return d.list(ctx, "vms")
}

// ListRunning returns the VMs with a live console (`list runningvms`): running and paused
// ones, but not saved, starting or stopping ones.
func (d *Driver) ListRunning(ctx context.Context) ([]VMRef, error) {
	return d.list(ctx, "runningvms")
}

func (d *Driver) list(ctx context.Context, what string) ([]VMRef, error) {
	res, err := d.do(ctx, call{args: []string{"list", what}})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	refs, err := ParseList(res.stdout)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	d.learn(what == "vms", refs...)
	return refs, nil
}

// Find returns the registered VM whose name is exactly name, or an error matching
// ErrNotFound.
func (d *Driver) Find(ctx context.Context, name string) (VMRef, error) {
	refs, err := d.List(ctx)
	if err != nil {
		return VMRef{}, err
	}
	for _, r := range refs {
		if r.Name == name && !r.Inaccessible {
			return r, nil
		}
	}
	return VMRef{}, fmt.Errorf("find vm %q: %w", name, ErrNotFound)
}

// Info returns the VM's settings and state (`showvminfo --machinereadable`) with its
// extradata (`getextradata VM enumerate`). vm is a name or UUID.
func (d *Driver) Info(ctx context.Context, vm string) (*VMInfo, error) {
	info, err := d.showInfo(ctx, vm)
	if err != nil {
		return nil, err
	}
	if info.Inaccessible {
		return info, nil
	}
	if info.ExtraData, err = d.ExtraData(ctx, vm); err != nil {
		return nil, err
	}
	return info, nil
}

// State returns the VM's VMState word with a single showvminfo call.
func (d *Driver) State(ctx context.Context, vm string) (string, error) {
	info, err := d.showInfo(ctx, vm)
	if err != nil {
		return "", err
	}
	return info.State, nil
}

// showInfo runs showvminfo alone.
func (d *Driver) showInfo(ctx context.Context, vm string) (*VMInfo, error) {
	res, err := d.do(ctx, call{args: []string{"showvminfo", vm, "--machinereadable"}})
	if err != nil {
		return nil, fmt.Errorf("info %s: %w", vm, err)
	}
	info, err := ParseVMInfo(res.stdout)
	if err != nil {
		return nil, fmt.Errorf("info %s: %w", vm, err)
	}
	d.learn(false, VMRef{Name: info.Name, UUID: info.UUID, Inaccessible: info.Inaccessible})
	return info, nil
}

// ExtraData returns every extradata key of the VM; vm "global" reads the global extradata.
func (d *Driver) ExtraData(ctx context.Context, vm string) (map[string]string, error) {
	res, err := d.do(ctx, call{args: []string{"getextradata", vm, "enumerate"}})
	if err != nil {
		return nil, fmt.Errorf("extradata %s: %w", vm, err)
	}
	m, err := parseExtraData(res.stdout)
	if err != nil {
		return nil, fmt.Errorf("extradata %s: %w", vm, err)
	}
	return m, nil
}

// GetExtraData returns the value of one extradata key and whether it is set.
func (d *Driver) GetExtraData(ctx context.Context, vm, key string) (string, bool, error) {
	res, err := d.do(ctx, call{args: []string{"getextradata", vm, key}})
	if err != nil {
		return "", false, fmt.Errorf("extradata %s %s: %w", vm, key, err)
	}
	v, ok, err := parseValue(res.stdout)
	if err != nil {
		return "", false, fmt.Errorf("extradata %s %s: %w", vm, key, err)
	}
	return v, ok, nil
}

// Snapshots returns the VM's snapshot tree; a VM without snapshots has an empty tree.
func (d *Driver) Snapshots(ctx context.Context, vm string) (*SnapshotTree, error) {
	res, err := d.do(ctx, call{args: []string{"snapshot", vm, "list", "--machinereadable"}})
	if err != nil {
		// "does not have any snapshots" is printed on stdout with exit 1: an empty list.
		if strings.Contains(string(res.stdout), noSnapshots) {
			return &SnapshotTree{}, nil
		}
		return nil, fmt.Errorf("snapshots %s: %w", vm, err)
	}
	tree, err := ParseSnapshots(res.stdout)
	if err != nil {
		return nil, fmt.Errorf("snapshots %s: %w", vm, err)
	}
	return tree, nil
}
