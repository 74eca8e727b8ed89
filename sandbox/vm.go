// The VM control the sandbox needs, declared here where it is used and kept
// small enough for both providers (VirtualBox: a registry and VBoxManage;
// QEMU: folders, processes and QMP).

package sandbox

import "context"

// SnapshotReady is the live snapshot every worker VM carries from the moment
// it became ready; the default rollback strategy restores it after each job.
const SnapshotReady = "ready"

// MarkerFile is the file, relative to the build user's home, that the
// provider writes into a worker when it becomes ready (before the `ready`
// snapshot is taken) with the content it reports as Endpoint.Marker. After a
// rollback the file must be there with that content: a VM that booted some
// other disk, or restored the wrong state, does not have it.
const MarkerFile = ".fleet/ready"

// VM is the control the sandbox needs over one worker VM. Methods take the
// context first and report provider errors as they are; the sandbox treats
// every failure during a rollback as the VM being broken.
type VM interface {
	// Name names the VM in logs and errors.
	Name() string
	// PowerOff stops the VM at once, without a guest shutdown. A VM that is
	// already stopped is left alone.
	PowerOff(ctx context.Context) error
	// Start starts a stopped VM and returns once it runs. A VM restored
	// from a live snapshot resumes from the saved state (no boot).
	Start(ctx context.Context) error
	// Snapshots lists the VM's snapshots, parents before their children.
	Snapshots(ctx context.Context) ([]Snapshot, error)
	// TakeSnapshot takes a live snapshot of the running VM named name and
	// returns its ID.
	TakeSnapshot(ctx context.Context, name string) (id string, err error)
	// RestoreSnapshot restores the snapshot with the given ID on the
	// stopped VM.
	RestoreSnapshot(ctx context.Context, id string) error
	// DeleteSnapshot deletes the snapshot with the given ID.
	DeleteSnapshot(ctx context.Context, id string) error
	// Endpoint says how to reach and trust the VM's SSH server and what its
	// marker file must hold.
	Endpoint(ctx context.Context) (Endpoint, error)
}

// Snapshot names one snapshot of a VM. Names need not be unique; act on IDs.
type Snapshot struct {
	ID   string
	Name string
}

// Endpoint is what the provider recorded about a ready worker.
type Endpoint struct {
	// Addr is host:port of the VM's SSH server, on 127.0.0.1.
	Addr string
	// HostKey is the host key pinned when the VM became ready, in
	// authorized_keys form (guest.FormatHostKey). Required: the sandbox
	// never trusts a key on first use.
	HostKey string
	// Marker is the content MarkerFile must have in the guest. Required.
	Marker string
}
