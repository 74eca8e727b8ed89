// Package vboxprovider adapts the VirtualBox driver (package vbox), the SSH communicator
// (package guest) and chef-solo provisioning (package chef) to reconcile.Provider. Facts about
// each managed VM live in its extradata under the reconcile.Key* names.
//
// This file holds the Provider and Observe. An idle pass must stay cheap: Observe runs
// `list vms` and `list runningvms`, and reads a VM's details (showvminfo + getextradata) only
// when it is new, its settings file's mtime changed, it started or stopped, or this provider
// changed it. That is the hot loop of an idle daemon.
package vboxprovider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/vbox"
)

// Config configures a Provider.
type Config struct {
	// Owner is this host's name (spec Host.Name): only VMs whose fleet/owner equals it are
	// managed. Required.
	Owner string
	// StateDir holds the agent's SSH key and the import intents. Required.
	StateDir string
	// BootTimeout bounds waiting for a booted VM's SSH. Default 5m.
	BootTimeout time.Duration
	// ShutdownGrace is how long a golden gets to power down after the ACPI button before its
	// power is pulled. Default 2m.
	ShutdownGrace time.Duration
	// SSHDialTimeout bounds each SSH connection attempt. Default guest.DefaultDialTimeout.
	SSHDialTimeout time.Duration
	// Log receives progress of each step; nil discards.
	Log *slog.Logger
	// ProvisionLog receives chef-solo's output (from concurrent builds, line-interleaved);
	// nil discards.
	ProvisionLog io.Writer
	// Now is the clock for fleet/created; nil means time.Now.
	Now func() time.Time
}

// Provider is the VirtualBox reconcile.Provider. It is safe for concurrent use.
type Provider struct {
	d   *vbox.Driver
	cfg Config
	log *slog.Logger
	key ssh.Signer // the agent's own key

	mu      sync.Mutex
	cache   map[string]cached // by VM UUID
	version *vbox.Version     // VirtualBox's version once read (hostloopback.go)
}

// cached is what Observe knows of one VM and the conditions under which it still holds.
type cached struct {
	cfg     string    // the settings file
	mtime   time.Time // of the settings file
	running bool
	vm      reconcile.VM
	managed bool
	foreign reconcile.Foreign
}

var _ reconcile.Provider = (*Provider)(nil)

// New returns a Provider over driver d. It loads (or creates) the agent's SSH key in
// cfg.StateDir.
func New(d *vbox.Driver, cfg Config) (*Provider, error) {
	if cfg.Owner == "" || cfg.StateDir == "" {
		return nil, fmt.Errorf("vboxprovider: owner and state dir are required")
	}
	if cfg.BootTimeout <= 0 {
		cfg.BootTimeout = 5 * time.Minute
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("vboxprovider: %w", err)
	}
	key, err := guest.LoadOrCreateKey(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("vboxprovider: agent key: %w", err)
	}
	return &Provider{d: d, cfg: cfg, log: log, key: key, cache: map[string]cached{}}, nil
}

// AgentKey returns the agent's public key, the one goldens are built to accept.
func (p *Provider) AgentKey() ssh.PublicKey { return p.key.PublicKey() }

// Observe lists every VM and returns the managed and foreign ones.
func (p *Provider) Observe(ctx context.Context) (reconcile.Inventory, error) {
	refs, err := p.d.List(ctx)
	if err != nil {
		return reconcile.Inventory{}, fmt.Errorf("observe: %w", err)
	}
	runRefs, err := p.d.ListRunning(ctx)
	if err != nil {
		return reconcile.Inventory{}, fmt.Errorf("observe: %w", err)
	}
	running := map[string]bool{}
	for _, r := range runRefs {
		running[r.UUID] = true
	}
	inv := reconcile.Inventory{Owner: p.cfg.Owner}
	seen := map[string]bool{}
	for _, r := range refs {
		if r.Inaccessible {
			inv.Foreign = append(inv.Foreign, reconcile.Foreign{Name: r.Name, ID: r.UUID})
			continue
		}
		seen[r.UUID] = true
		c, err := p.details(ctx, r, running[r.UUID])
		if err != nil {
			if vboxNotFound(err) {
				continue // removed between the list and the read
			}
			return reconcile.Inventory{}, fmt.Errorf("observe: %w", err)
		}
		if c.managed {
			inv.VMs = append(inv.VMs, c.vm)
		} else {
			inv.Foreign = append(inv.Foreign, c.foreign)
		}
	}
	p.mu.Lock()
	for id := range p.cache {
		if !seen[id] {
			delete(p.cache, id)
		}
	}
	p.mu.Unlock()
	return inv, nil
}

// details returns the cached facts of one VM, reading them again when they may have changed.
func (p *Provider) details(ctx context.Context, r vbox.VMRef, running bool) (cached, error) {
	p.mu.Lock()
	c, ok := p.cache[r.UUID]
	p.mu.Unlock()
	if ok && c.running == running {
		if st, err := os.Stat(c.cfg); err == nil && st.ModTime().Equal(c.mtime) {
			return c, nil
		}
	}
	info, err := p.d.Info(ctx, r.UUID)
	if err != nil {
		return cached{}, err
	}
	c = cached{running: running}
	if st, err := os.Stat(info.CfgFile); err == nil {
		c.mtime = st.ModTime()
	}
	c.vm, c.managed = p.toVM(info)
	c.vm.ID = info.UUID
	c.foreign = reconcile.Foreign{Name: info.Name, ID: info.UUID, Owner: info.ExtraData[reconcile.KeyOwner]}
	c.vm.HostKey = info.ExtraData[reconcile.KeyHostKey]
	c.cfg = info.CfgFile
	p.mu.Lock()
	p.cache[r.UUID] = c
	p.mu.Unlock()
	return c, nil
}

// invalidate drops what Observe knows of the VM, after this provider changed it: the
// simulator, like some VirtualBox versions, does not touch the settings file for every change.
func (p *Provider) invalidate(vm string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, c := range p.cache {
		if id == vm || c.vm.Name == vm || c.foreign.Name == vm {
			delete(p.cache, id)
		}
	}
}

// toVM turns VirtualBox's view of a VM into reconcile's; managed is false for foreign VMs.
func (p *Provider) toVM(info *vbox.VMInfo) (reconcile.VM, bool) {
	x := info.ExtraData
	v := reconcile.VM{
		Name: info.Name, Role: x[reconcile.KeyRole], Pool: x[reconcile.KeyPool], Phase: x[reconcile.KeyPhase],
		Image: x[reconcile.KeyGolden], Box: x[reconcile.KeyBox], Version: x[reconcile.KeyVersion],
		Created: reconcile.ParseTime(x[reconcile.KeyCreated]), Power: power(info.State),
		Memory: info.Memory, CPUs: info.CPUs, Rejected: x[reconcile.KeyRejected],
		Network: x[reconcile.KeyNetwork],
	}
	if v.Role == reconcile.RoleWorker && len(info.HostLoopbackOpen()) > 0 {
		// Observed state wins over the recorded policy: a worker whose NAT still reaches the
		// host's loopback (made before the agent closed it) is replaced (hostloopback.go).
		v.Network = reconcile.NetworkLegacy
	}
	if s := x[reconcile.KeyImage]; s != "" {
		var img reconcile.Image
		if json.Unmarshal([]byte(s), &img) == nil {
			v.ImageFacts = &img
		}
	}
	if info.Snapshots != nil {
		for _, s := range info.Snapshots.All() {
			v.Snapshots = append(v.Snapshots, s.Name)
		}
	}
	for _, f := range info.Forwards {
		if f.Name == forwardName {
			v.SSHPort = f.HostPort
		}
	}
	if x[reconcile.KeyOwner] == p.cfg.Owner {
		return v, true
	}
	// An import that died before its facts were written left an intent: the VM is ours, and
	// still being created.
	if x[reconcile.KeyOwner] == "" {
		if st, err := os.Stat(p.intentPath(info.Name)); err == nil {
			v.Role, v.Phase, v.Created = reconcile.RoleBox, reconcile.PhaseCreating, st.ModTime()
			return v, true
		}
	}
	return v, false
}

func power(state string) reconcile.Power {
	switch {
	case state == "aborted" || state == "aborted-saved":
		return reconcile.PowerAborted
	case vbox.IsRunning(state):
		return reconcile.PowerRunning
	case vbox.IsStopped(state):
		return reconcile.PowerStopped
	case vbox.IsTransient(state):
		return reconcile.PowerChanging
	default:
		return reconcile.PowerUnknown
	}
}

// intentPath is the file that marks an import in flight (see ImportBox).
func (p *Provider) intentPath(vm string) string {
	return filepath.Join(p.cfg.StateDir, "intents", vm)
}
