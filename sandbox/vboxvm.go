// A thin adapter that lets a VirtualBox worker be a sandbox VM: each method
// is one or two driver calls.

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/fleet-agent/fleet/vbox"
)

// Extradata keys the VirtualBox provider sets on a worker when it becomes
// ready. They carry the same names as the reconcile package's facts.
const (
	KeyHostKey = "fleet/hostkey" // pinned SSH host key, authorized_keys form
	KeyMarker  = "fleet/marker"  // content of MarkerFile in the guest
)

// VBoxVM is a worker VM driven through VBoxManage.
type VBoxVM struct {
	d    *vbox.Driver
	name string
}

// NewVBoxVM returns the sandbox view of the VirtualBox VM called name.
func NewVBoxVM(d *vbox.Driver, name string) *VBoxVM {
	return &VBoxVM{d: d, name: name}
}

// Name returns the VM's name.
func (v *VBoxVM) Name() string { return v.name }

// PowerOff pulls the power cord of a running or paused VM.
func (v *VBoxVM) PowerOff(ctx context.Context) error {
	st, err := v.d.State(ctx, v.name)
	if err != nil {
		return err
	}
	if vbox.IsStopped(st) {
		return nil
	}
	return v.d.PowerOff(ctx, v.name)
}

// Start starts the VM headless; a saved VM resumes.
func (v *VBoxVM) Start(ctx context.Context) error { return v.d.Start(ctx, v.name) }

// Snapshots lists the snapshot tree in pre-order.
func (v *VBoxVM) Snapshots(ctx context.Context) ([]Snapshot, error) {
	tree, err := v.d.Snapshots(ctx, v.name)
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, s := range tree.All() {
		out = append(out, Snapshot{ID: s.UUID, Name: s.Name})
	}
	return out, nil
}

// TakeSnapshot takes a live snapshot.
func (v *VBoxVM) TakeSnapshot(ctx context.Context, name string) (string, error) {
	return v.d.TakeSnapshot(ctx, v.name, name, true)
}

// RestoreSnapshot restores the snapshot with UUID id.
func (v *VBoxVM) RestoreSnapshot(ctx context.Context, id string) error {
	return v.d.RestoreSnapshot(ctx, v.name, id)
}

// DeleteSnapshot deletes the snapshot with UUID id.
func (v *VBoxVM) DeleteSnapshot(ctx context.Context, id string) error {
	return v.d.DeleteSnapshot(ctx, v.name, id)
}

// Endpoint reads the NAT forward to guest port 22 and the worker's facts.
func (v *VBoxVM) Endpoint(ctx context.Context) (Endpoint, error) {
	info, err := v.d.Info(ctx, v.name)
	if err != nil {
		return Endpoint{}, err
	}
	var ep Endpoint
	for _, f := range info.Forwards {
		if f.GuestPort == 22 && (f.Proto == "" || f.Proto == "tcp") {
			ep.Addr = "127.0.0.1:" + strconv.Itoa(f.HostPort)
			break
		}
	}
	ep.HostKey, ep.Marker = info.ExtraData[KeyHostKey], info.ExtraData[KeyMarker]
	switch {
	case ep.Addr == "":
		return Endpoint{}, errors.New("no nat forward to guest port 22")
	case ep.HostKey == "":
		return Endpoint{}, fmt.Errorf("extradata %s not set", KeyHostKey)
	case ep.Marker == "":
		return Endpoint{}, fmt.Errorf("extradata %s not set", KeyMarker)
	}
	return ep, nil
}
