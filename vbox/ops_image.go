package vbox

// This file holds the operations that create VMs or appliances: import, clone and export.
// They block until VirtualBox is done and report progress through a ProgressFunc.

import (
	"context"
	"fmt"
)

// Import imports the OVF appliance at ovf as a VM named name (`import OVF --vsys 0 --vmname
// NAME`) and returns the new VM. progress, when not nil, receives the percentages.
func (d *Driver) Import(ctx context.Context, ovf, name string, progress ProgressFunc) (VMRef, error) {
	c := call{args: []string{"import", ovf, "--vsys", "0", "--vmname", name}, mutate: true, progress: progress}
	if _, err := d.mutate(ctx, name, c); err != nil {
		return VMRef{}, fmt.Errorf("import %s as %s: %w", ovf, name, err)
	}
	// VBoxManage does not print the UUID: find it by exact name.
	ref, err := d.Find(ctx, name)
	if err != nil {
		return VMRef{}, fmt.Errorf("import %s as %s: %w", ovf, name, err)
	}
	return ref, nil
}

// Export writes the VM as an appliance to path (.ovf or .ova).
func (d *Driver) Export(ctx context.Context, vm, path string, progress ProgressFunc) error {
	c := call{args: []string{"export", vm, "--output", path}, mutate: true, progress: progress}
	if _, err := d.mutate(ctx, vm, c); err != nil {
		return fmt.Errorf("export %s to %s: %w", vm, path, err)
	}
	return nil
}

// CloneOptions describe a clone.
type CloneOptions struct {
	// Name is the new VM's name. Required.
	Name string
	// Snapshot is the source snapshot (name or UUID); required for a linked clone.
	Snapshot string
	// Linked makes a linked clone sharing the source snapshot's disks (seconds, not a copy).
	Linked bool
	// BaseFolder is where the clone's files go; "" means VirtualBox's default machine folder.
	BaseFolder string
}

// Clone clones src (`clonevm --register`), fully or linked from a named snapshot, and
// returns the new VM. Clones of one source may run in parallel, bounded by MaxParallel.
func (d *Driver) Clone(ctx context.Context, src string, o CloneOptions, progress ProgressFunc) (VMRef, error) {
	if o.Name == "" {
		return VMRef{}, fmt.Errorf("clone %s: no name", src)
	}
	if o.Linked && o.Snapshot == "" {
		return VMRef{}, fmt.Errorf("clone %s as %s: a linked clone needs a snapshot", src, o.Name)
	}
	args := []string{"clonevm", src, "--name", o.Name, "--register"}
	if o.Snapshot != "" {
		args = append(args, "--snapshot", o.Snapshot)
	}
	if o.Linked {
		args = append(args, "--options", "link")
	}
	if o.BaseFolder != "" {
		args = append(args, "--basefolder", o.BaseFolder)
	}
	if _, err := d.mutate(ctx, o.Name, call{args: args, mutate: true, progress: progress}); err != nil {
		return VMRef{}, fmt.Errorf("clone %s as %s: %w", src, o.Name, err)
	}
	ref, err := d.Find(ctx, o.Name)
	if err != nil {
		return VMRef{}, fmt.Errorf("clone %s as %s: %w", src, o.Name, err)
	}
	return ref, nil
}
