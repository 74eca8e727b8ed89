// The interfaces reconcile needs from the world: a Provider that owns VMs (VirtualBox through
// its registry and extradata, or QEMU through folders, processes and QMP) and a BoxStore that
// downloads and caches boxes. Both are small and speak in domain terms, never in argv.

package reconcile

import (
	"context"
	"errors"
	"time"
)

// VMRef names an existing VM: its name and the provider's identifier.
type VMRef struct {
	Name string
	ID   string
}

// ImportRequest asks for a box version to be imported as the box VM Name.
type ImportRequest struct {
	Name string
	Box  BoxSpec
	// Dir is the unpacked box (box.ovf, disks, metadata.json) from the BoxStore.
	Dir string
}

// GoldenRequest asks for the golden VM Name of a pool to be built from the box VM BoxVM:
// clone, boot, install the agent's key, provision, shut down, snapshot SnapshotGolden.
type GoldenRequest struct {
	Name  string
	Pool  PoolSpec
	Box   BoxSpec
	BoxVM string
}

// WorkerRequest asks for worker Name to be made from the golden VM Golden: linked clone,
// memory and CPUs, SSH forward, boot, wait for SSH, pin the host key, live snapshot
// SnapshotReady, phase ready.
type WorkerRequest struct {
	Name   string
	Pool   PoolSpec
	Box    BoxSpec
	Golden string
}

// Provider owns the VMs of one hypervisor on this host. Every method is called with the
// host's apply lock held by the caller's process, may run concurrently for different VMs, and
// must keep the crash-safety contract: a VM it creates carries KeyOwner and PhaseCreating (with
// KeyCreated) before anything else is done to it, and PhaseReady only once it is complete. A
// failure it knows to be worth retrying is returned wrapped with Transient.
type Provider interface {
	// Observe returns the managed VMs (KeyOwner equal to the host's name) and the foreign ones.
	// It fills Owner, VMs and Foreign; the caller fills the rest.
	Observe(ctx context.Context) (Inventory, error)
	ImportBox(ctx context.Context, r ImportRequest) error
	BuildGolden(ctx context.Context, r GoldenRequest) error
	CreateWorker(ctx context.Context, r WorkerRequest) error
	// StartWorker brings a stopped worker back to its ready snapshot, running.
	StartWorker(ctx context.Context, vm VMRef) error
	// Destroy stops the VM if needed and removes it with its disks and snapshots. A VM that
	// is already gone is not an error.
	Destroy(ctx context.Context, vm VMRef) error
}

// BoxStore is the download cache of boxes, by name and version.
type BoxStore interface {
	// List returns the boxes present and complete.
	List() ([]BoxKey, error)
	// Fetch downloads, verifies and unpacks the box unless it is present, and returns its folder.
	Fetch(ctx context.Context, b BoxSpec) (string, error)
	// Remove deletes the box from the cache; a missing box is not an error.
	Remove(name, version string) error
}

// transientError marks an error worth retrying.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// Transient marks err as transient: Apply retries the action with backoff. nil stays nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &transientError{err}
}

// IsTransient reports whether err, or an error it wraps, was marked with Transient.
func IsTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

// Observe reads the provider and the box cache into an Inventory stamped with now.
// exclusive says the caller holds the host's apply lock (see Inventory.Exclusive).
func Observe(ctx context.Context, p Provider, boxes BoxStore, exclusive bool, now time.Time) (Inventory, error) {
	inv, err := p.Observe(ctx)
	if err != nil {
		return Inventory{}, err
	}
	if boxes != nil {
		if inv.Cached, err = boxes.List(); err != nil {
			return Inventory{}, err
		}
	}
	inv.Now, inv.Exclusive = now, exclusive
	return inv, nil
}
