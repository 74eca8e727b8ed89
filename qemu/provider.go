// Package qemu is the second provider: QEMU VMs (KVM when /dev/kvm is usable, TCG
// otherwise) without a registry. Each VM is a folder in <state_dir>/qemu (facts.go) plus its
// running process (process.go); Observe reads the folders and checks each recorded process by
// pid and start time. A box is imported as a read-only copy of its qcow2 image (with optional
// kernel, initrd and command line for direct boot); a golden is an overlay on the box, booted,
// provisioned with chef-solo over SSH and saved as a migration stream; a worker is an overlay
// on the golden resumed from that stream, whose `ready` point is a QMP savevm. The sandbox
// rolls a worker back with loadvm in the same process (vm.go), about 0.6 s to SSH under TCG,
// faster than a fresh overlay per job resumed from the golden's state (0.7 s; see
// BenchmarkQEMURollback). The guest clock is set after
// every restore. QMP is spoken directly (package qemu/qmp). A guest's network follows its
// pool's network block (network.go): passt without host loopback by default, QEMU's restricted
// user network for egress "none".
//
// This file holds the Provider, Observe and the port allocation shared with VirtualBox
// (internal/ports).
package qemu

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/internal/ports"
	"github.com/fleet-agent/fleet/qemu/qmp"
	"github.com/fleet-agent/fleet/reconcile"
)

// Config configures a Provider.
type Config struct {
	// Owner is this host's name; only VMs whose facts carry it are managed. Required.
	Owner string
	// StateDir is the agent's state folder: VMs live in StateDir/qemu, the agent's SSH key in
	// StateDir. Required.
	StateDir string
	// Binary is the qemu executable. Default "qemu-system-x86_64".
	Binary string
	// Passt is the passt executable that gives isolated guests their network (network.go).
	// Default "passt" from PATH.
	Passt string
	// Accel is "auto" (default), "kvm" or "tcg"; see Accel.
	Accel string
	// PortRange is the inclusive range of host ports forwarded to guests' SSH. Default
	// [2200, 2999], as VirtualBox's.
	PortRange [2]int
	// LockDir holds the host-wide port lock shared with the VirtualBox driver (its
	// Config.LockDir). Default $TMPDIR/fleet-vbox-locks, the driver's default.
	LockDir string
	// OtherPorts returns the ports other providers own (vbox.Driver.UsedPorts); may be nil.
	OtherPorts ports.Used
	// BootTimeout bounds a boot or restore until SSH answers. Default 2m.
	BootTimeout time.Duration
	// Log receives progress of each step; nil discards.
	Log *slog.Logger
	// ProvisionLog receives chef-solo's output; nil discards.
	ProvisionLog io.Writer
	// Now is the clock for creation times; nil means time.Now.
	Now func() time.Time
}

// Provider is the QEMU reconcile.Provider. It is safe for concurrent use.
type Provider struct {
	cfg   Config
	log   *slog.Logger
	key   ssh.Signer // the agent's own key
	root  string     // StateDir/qemu
	accel string

	factsMu sync.Mutex // serialises read-modify-write of vm.json files

	procMu   sync.Mutex
	children map[int]*os.Process // qemu processes this provider started; guarded by procMu
	closed   bool                // guarded by procMu
	procs    sync.WaitGroup      // one per child's reaper goroutine
}

var _ reconcile.Provider = (*Provider)(nil)

// New returns a Provider. It loads (or creates) the agent's SSH key in cfg.StateDir.
func New(cfg Config) (*Provider, error) {
	if cfg.Owner == "" || cfg.StateDir == "" {
		return nil, fmt.Errorf("qemu: owner and state dir are required")
	}
	if cfg.Passt == "" {
		cfg.Passt = DefaultPasst
	}
	if cfg.Binary == "" {
		cfg.Binary = "qemu-system-x86_64"
	}
	if cfg.PortRange == [2]int{} {
		cfg.PortRange = [2]int{2200, 2999}
	}
	if cfg.LockDir == "" {
		cfg.LockDir = filepath.Join(os.TempDir(), "fleet-vbox-locks")
	}
	if cfg.BootTimeout <= 0 {
		cfg.BootTimeout = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root := filepath.Join(cfg.StateDir, "qemu")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	key, err := guest.LoadOrCreateKey(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("qemu: agent key: %w", err)
	}
	return &Provider{cfg: cfg, log: log, key: key, root: root, accel: Accel(cfg.Accel), children: map[int]*os.Process{}}, nil
}

// AgentKey returns the agent's public key, the one goldens are built to accept.
func (p *Provider) AgentKey() ssh.PublicKey { return p.key.PublicKey() }

// AccelInUse returns the accelerator new VMs get ("kvm" or "tcg").
func (p *Provider) AccelInUse() string { return p.accel }

// Observe reads every VM folder. A folder without readable facts is debris of a creation
// that died before its first write: it is reported as a managed VM in phase creating.
func (p *Provider) Observe(ctx context.Context) (reconcile.Inventory, error) {
	inv := reconcile.Inventory{Owner: p.cfg.Owner}
	entries, err := os.ReadDir(p.root)
	if err != nil {
		return inv, fmt.Errorf("observe: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(p.root, e.Name())
		p.factsMu.Lock()
		f, err := readFacts(dir)
		p.factsMu.Unlock()
		if err != nil {
			created := time.Time{}
			if st, serr := os.Stat(dir); serr == nil {
				created = st.ModTime()
			}
			inv.VMs = append(inv.VMs, reconcile.VM{Name: e.Name(), ID: e.Name(), Phase: reconcile.PhaseCreating,
				Created: created, Power: reconcile.PowerStopped})
			continue
		}
		if f.Owner != p.cfg.Owner {
			inv.Foreign = append(inv.Foreign, reconcile.Foreign{Name: f.Name, ID: vmID(e.Name(), f), Owner: f.Owner})
			continue
		}
		inv.VMs = append(inv.VMs, toVM(vmID(e.Name(), f), f, f.running()))
	}
	return inv, nil
}

// Has reports whether vm (by ID, else by name) is a folder of this provider, owned or not, so
// that a host running two providers can route StartWorker and Destroy to the one that has it.
func (p *Provider) Has(vm reconcile.VMRef) bool {
	name, _ := splitID(vm.ID)
	if name == "" {
		name = vm.Name
	}
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return false
	}
	st, err := os.Stat(p.dir(name))
	return err == nil && st.IsDir()
}

// UsedPorts returns the host ports this provider's VMs own, for the other providers'
// allocators (ports.Used).
func (p *Provider) UsedPorts(context.Context) (map[int]bool, error) {
	used := map[int]bool{}
	entries, err := os.ReadDir(p.root)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if f, err := readFacts(filepath.Join(p.root, e.Name())); err == nil && f.SSHPort != 0 {
			used[f.SSHPort] = true
		}
	}
	return used, nil
}

// allocatePort gives the VM a free host port, recorded in its facts before the host-wide
// lock is released.
func (p *Provider) allocatePort(ctx context.Context, name string) (int, error) {
	unlock, err := ports.Lock(ctx, p.cfg.LockDir)
	if err != nil {
		return 0, fmt.Errorf("allocate port: %w", err)
	}
	defer unlock()
	used, err := p.UsedPorts(ctx)
	if err != nil {
		return 0, fmt.Errorf("allocate port: %w", err)
	}
	if err := ports.Union(ctx, used, p.cfg.OtherPorts, ports.Listening); err != nil {
		return 0, fmt.Errorf("allocate port: %w", err)
	}
	port, err := ports.Pick(p.cfg.PortRange[0], p.cfg.PortRange[1], used)
	if err != nil {
		return 0, fmt.Errorf("allocate port: %w", err)
	}
	if _, err := p.update(name, func(f *facts) { f.SSHPort = port }); err != nil {
		return 0, fmt.Errorf("allocate port: %w", err)
	}
	return port, nil
}

// qmp connects to the VM's QMP socket.
func (p *Provider) qmp(ctx context.Context, f *facts) (*qmp.Client, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return qmp.Dial(dctx, f.QMP)
}

// hmp runs one human monitor command on the VM.
func (p *Provider) hmp(ctx context.Context, f *facts, line string) error {
	c, err := p.qmp(ctx, f)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.HMP(ctx, line)
	return err
}
