// The host's providers: VirtualBox (vboxprovider over the VBoxManage driver) and QEMU (package
// qemu), wired from fleet.hcl, and hostProviders, the one reconcile.Provider that routes each
// call to the provider that owns the pool, box or VM. Both take SSH ports from one host-wide
// allocator (the same lock folder), each seeing the other's ports through OtherPorts, so pools of
// both providers may share a host.

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/fleet-agent/fleet/qemu"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/spec"
	"github.com/fleet-agent/fleet/vbox"
	"github.com/fleet-agent/fleet/vboxprovider"
)

// errNoProvider is returned for work routed to a provider this host did not wire.
var errNoProvider = errors.New("provider not available on this host")

// hostProviders routes reconcile's calls by provider. Either provider may be nil: VirtualBox is
// wired when a pool uses it or VBoxManage is installed (so leftover VMs can still be removed
// and a reload may add a pool), QEMU when a pool uses it, qemu is installed or state_dir/qemu
// exists. The fields are set once, before use.
type hostProviders struct {
	vbox   reconcile.Provider // a *vboxprovider.Provider, or nil
	driver *vbox.Driver       // vbox's driver, nil with it
	qemu   qemuProvider       // a *qemu.Provider, or nil
}

// qemuProvider is what the host needs of the QEMU provider beyond reconcile's interface.
type qemuProvider interface {
	reconcile.Provider
	Has(vm reconcile.VMRef) bool
	UsedPorts(ctx context.Context) (map[int]bool, error)
	VM(name string) *qemu.VM
}

var _ reconcile.Provider = (*hostProviders)(nil)

// openProviders wires the providers fleet f needs.
func openProviders(f *spec.Fleet, log *slog.Logger) (*hostProviders, error) {
	state := f.Host.StateDir
	lockDir := filepath.Join(state, "locks")
	var useVBox, useQEMU bool
	for _, p := range f.Pools {
		if p.Provider == spec.ProviderQEMU {
			useQEMU = true
		} else {
			useVBox = true
		}
	}
	if !useVBox {
		_, err := exec.LookPath(f.VirtualBox.Manage)
		useVBox = err == nil
	}
	if !useQEMU {
		_, err := os.Stat(filepath.Join(state, "qemu"))
		_, lerr := exec.LookPath(f.QEMU.Binary)
		useQEMU = err == nil || lerr == nil
	}
	h := &hostProviders{}
	if useQEMU {
		q, err := qemu.New(qemu.Config{
			Owner: f.Host.Name, StateDir: state, Binary: f.QEMU.Binary, Accel: f.QEMU.Accel,
			PortRange: f.VirtualBox.SSHPortRange, LockDir: lockDir, OtherPorts: h.vboxPorts, Log: log,
		})
		if err != nil {
			return nil, err
		}
		h.qemu = q
	}
	if useVBox {
		vb := f.VirtualBox
		h.driver = vbox.New(vbox.Config{Manage: vb.Manage, MaxParallel: vb.MaxParallel, CallTimeout: vb.CallTimeout,
			PortRange: vb.SSHPortRange, LockDir: lockDir, OtherPorts: h.qemuPorts}, log)
		p, err := vboxprovider.New(h.driver, vboxprovider.Config{Owner: f.Host.Name, StateDir: state, Log: log})
		if err != nil {
			return nil, err
		}
		h.vbox = p
	}
	return h, nil
}

func (h *hostProviders) vboxPorts(ctx context.Context) (map[int]bool, error) {
	if h.driver == nil {
		return nil, nil
	}
	return h.driver.UsedPorts(ctx)
}

func (h *hostProviders) qemuPorts(ctx context.Context) (map[int]bool, error) {
	if h.qemu == nil {
		return nil, nil
	}
	return h.qemu.UsedPorts(ctx)
}

// Observe merges both providers' inventories.
func (h *hostProviders) Observe(ctx context.Context) (reconcile.Inventory, error) {
	var inv reconcile.Inventory
	for _, p := range h.all() {
		part, err := p.Observe(ctx)
		if err != nil {
			return reconcile.Inventory{}, err
		}
		inv.Owner = part.Owner
		inv.VMs = append(inv.VMs, part.VMs...)
		inv.Foreign = append(inv.Foreign, part.Foreign...)
	}
	return inv, nil
}

// ImportBox imports a QEMU-format box with QEMU, any other with VirtualBox.
func (h *hostProviders) ImportBox(ctx context.Context, r reconcile.ImportRequest) error {
	format := spec.BoxFormatVagrant
	if r.Box.Spec != nil {
		format = r.Box.Spec.Format
	}
	p, err := h.forQEMU(format == spec.BoxFormatQEMU, "import "+r.Name)
	if err != nil {
		return err
	}
	return p.ImportBox(ctx, r)
}

// BuildGolden builds with the pool's provider.
func (h *hostProviders) BuildGolden(ctx context.Context, r reconcile.GoldenRequest) error {
	p, err := h.forQEMU(isQEMU(r.Pool.Spec), "build golden "+r.Name)
	if err != nil {
		return err
	}
	return p.BuildGolden(ctx, r)
}

// CreateWorker creates with the pool's provider.
func (h *hostProviders) CreateWorker(ctx context.Context, r reconcile.WorkerRequest) error {
	p, err := h.forQEMU(isQEMU(r.Pool.Spec), "create worker "+r.Name)
	if err != nil {
		return err
	}
	return p.CreateWorker(ctx, r)
}

// StartWorker starts the worker with the provider that has it.
func (h *hostProviders) StartWorker(ctx context.Context, vm reconcile.VMRef) error {
	p, err := h.forQEMU(h.qemu != nil && h.qemu.Has(vm), "start worker "+vm.Name)
	if err != nil {
		return err
	}
	return p.StartWorker(ctx, vm)
}

// Destroy destroys the VM with the provider that has it.
func (h *hostProviders) Destroy(ctx context.Context, vm reconcile.VMRef) error {
	p, err := h.forQEMU(h.qemu != nil && h.qemu.Has(vm), "destroy "+vm.Name)
	if err != nil {
		return err
	}
	return p.Destroy(ctx, vm)
}

// SandboxVM returns the sandbox's control of worker name of pool.
func (h *hostProviders) SandboxVM(pool *spec.Pool, name string) (sandbox.VM, error) {
	if isQEMU(pool) {
		if h.qemu == nil {
			return nil, fmt.Errorf("worker %s: qemu: %w", name, errNoProvider)
		}
		return h.qemu.VM(name), nil
	}
	if h.driver == nil {
		return nil, fmt.Errorf("worker %s: virtualbox: %w", name, errNoProvider)
	}
	return sandbox.NewVBoxVM(h.driver, name), nil
}

func (h *hostProviders) all() []reconcile.Provider {
	var out []reconcile.Provider
	if h.vbox != nil {
		out = append(out, h.vbox)
	}
	if h.qemu != nil {
		out = append(out, h.qemu)
	}
	return out
}

func (h *hostProviders) forQEMU(useQEMU bool, what string) (reconcile.Provider, error) {
	switch {
	case useQEMU && h.qemu != nil:
		return h.qemu, nil
	case useQEMU:
		return nil, fmt.Errorf("%s: qemu: %w", what, errNoProvider)
	case h.vbox != nil:
		return h.vbox, nil
	default:
		return nil, fmt.Errorf("%s: virtualbox: %w", what, errNoProvider)
	}
}

func isQEMU(p *spec.Pool) bool { return p != nil && p.Provider == spec.ProviderQEMU }
