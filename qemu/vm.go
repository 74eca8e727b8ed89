// The sandbox's view of a QEMU worker (sandbox.VM). Rollback keeps the qemu process: PowerOff
// pauses the vCPUs (QMP stop), RestoreSnapshot is loadvm, Start is cont, followed by setting
// the guest clock. When the process is gone, RestoreSnapshot launches it paused with -loadvm
// and Start resumes it, so the same calls also revive a killed worker.

package qemu

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/fleet-agent/fleet/sandbox"
)

// VM is one worker as the sandbox drives it. It is safe for concurrent use with the provider.
type VM struct {
	p    *Provider
	name string
}

var _ sandbox.VM = (*VM)(nil)

// VM returns the sandbox view of the worker called name.
func (p *Provider) VM(name string) *VM { return &VM{p: p, name: name} }

// Name returns the VM's name.
func (v *VM) Name() string { return v.name }

func (v *VM) facts() (*facts, error) { return readFacts(v.p.dir(v.name)) }

// PowerOff pauses a running VM at once (its state is then replaced by a restore).
func (v *VM) PowerOff(ctx context.Context) error {
	f, err := v.facts()
	if err != nil {
		return err
	}
	if !f.running() {
		return nil
	}
	c, err := v.p.qmp(ctx, f)
	if err != nil {
		return fmt.Errorf("power off %s: %w", v.name, err)
	}
	defer c.Close()
	if _, err := c.Execute(ctx, "stop", nil); err != nil {
		return fmt.Errorf("power off %s: %w", v.name, err)
	}
	return nil
}

// Start resumes a paused VM, or launches a stopped one from its ready snapshot, then sets the
// guest clock over SSH with the pinned host key.
func (v *VM) Start(ctx context.Context) error {
	f, err := v.facts()
	if err != nil {
		return err
	}
	if !f.running() {
		if f, err = v.p.start(ctx, v.name, launch{loadvm: sandbox.SnapshotReady}); err != nil {
			return fmt.Errorf("start %s: %w", v.name, err)
		}
		if err := v.p.waitRunning(ctx, f); err != nil {
			return fmt.Errorf("start %s: %w", v.name, err)
		}
	} else {
		c, err := v.p.qmp(ctx, f)
		if err != nil {
			return fmt.Errorf("start %s: %w", v.name, err)
		}
		_, err = c.Execute(ctx, "cont", nil)
		c.Close()
		if err != nil {
			return fmt.Errorf("start %s: %w", v.name, err)
		}
	}
	conn, err := v.p.waitSSH(ctx, v.name, f.SSHPort, f.User, f.HostKey, nil)
	if err != nil {
		return fmt.Errorf("start %s: %w", v.name, err)
	}
	defer conn.Close()
	return setClock(ctx, conn)
}

// Snapshots lists the VM's internal snapshots in the order they were taken; IDs are names.
func (v *VM) Snapshots(ctx context.Context) ([]sandbox.Snapshot, error) {
	f, err := v.facts()
	if err != nil {
		return nil, err
	}
	out := make([]sandbox.Snapshot, 0, len(f.Snapshots))
	for _, s := range f.Snapshots {
		out = append(out, sandbox.Snapshot{ID: s, Name: s})
	}
	return out, nil
}

// TakeSnapshot saves the running VM as an internal snapshot called name (savevm).
func (v *VM) TakeSnapshot(ctx context.Context, name string) (string, error) {
	f, err := v.facts()
	if err != nil {
		return "", err
	}
	if slices.Contains(f.Snapshots, name) {
		return "", fmt.Errorf("snapshot %s of %s: exists", name, v.name)
	}
	if err := v.p.hmp(ctx, f, "savevm "+name); err != nil {
		return "", fmt.Errorf("snapshot %s of %s: %w", name, v.name, err)
	}
	if _, err := v.p.update(v.name, func(f *facts) { f.Snapshots = append(f.Snapshots, name) }); err != nil {
		return "", err
	}
	return name, nil
}

// RestoreSnapshot loads snapshot id into the paused VM, or launches the stopped VM paused at
// it.
func (v *VM) RestoreSnapshot(ctx context.Context, id string) error {
	f, err := v.facts()
	if err != nil {
		return err
	}
	if !slices.Contains(f.Snapshots, id) {
		return fmt.Errorf("restore %s of %s: no such snapshot", id, v.name)
	}
	if !f.running() {
		if _, err := v.p.start(ctx, v.name, launch{loadvm: id, paused: true}); err != nil {
			return fmt.Errorf("restore %s of %s: %w", id, v.name, err)
		}
		return nil
	}
	if err := v.p.hmp(ctx, f, "loadvm "+id); err != nil {
		return fmt.Errorf("restore %s of %s: %w", id, v.name, err)
	}
	return nil
}

// DeleteSnapshot deletes snapshot id (delvm, or qemu-img on a stopped VM).
func (v *VM) DeleteSnapshot(ctx context.Context, id string) error {
	f, err := v.facts()
	if err != nil {
		return err
	}
	if alive(f.PID, f.Start) {
		err = v.p.hmp(ctx, f, "delvm "+id)
	} else {
		err = qemuImg(ctx, "snapshot", "-d", id, filepath.Join(v.p.dir(v.name), diskFile))
	}
	if err != nil {
		return fmt.Errorf("delete snapshot %s of %s: %w", id, v.name, err)
	}
	_, err = v.p.update(v.name, func(f *facts) {
		f.Snapshots = slices.DeleteFunc(f.Snapshots, func(s string) bool { return s == id })
	})
	return err
}

// Endpoint returns the forwarded SSH address, the pinned host key and the marker.
func (v *VM) Endpoint(ctx context.Context) (sandbox.Endpoint, error) {
	f, err := v.facts()
	if err != nil {
		return sandbox.Endpoint{}, err
	}
	ep := sandbox.Endpoint{Addr: hostPort(f.SSHPort), HostKey: f.HostKey, Marker: f.Marker}
	switch {
	case f.SSHPort == 0:
		return sandbox.Endpoint{}, errors.New("no ssh port")
	case ep.HostKey == "" || ep.Marker == "":
		return sandbox.Endpoint{}, fmt.Errorf("worker %s is not ready", v.name)
	}
	return ep, nil
}
