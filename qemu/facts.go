// Each QEMU VM is a folder in <state_dir>/qemu named after the VM: its disk overlay, saved
// state, console and process log, QMP socket and vm.json, the facts (owner, role, phase, ...)
// reconcile reads, written atomically (temp, fsync, rename). This file is the folder layout
// and the facts; there is no other registry.

package qemu

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/reconcile"
)

// Files of a VM folder.
const (
	factsFile   = "vm.json"
	diskFile    = "disk.qcow2"
	stateFile   = "state.bin" // a golden's saved RAM and device state (migration stream)
	consoleFile = "console.log"
	logFile     = "qemu.log"
	qmpFile     = "qmp.sock"
)

// facts is vm.json. Fields written once at creation come first; the rest change with the VM.
type facts struct {
	Name    string    `json:"name"`
	Owner   string    `json:"owner"`
	Role    string    `json:"role"`
	Phase   string    `json:"phase"`
	Created time.Time `json:"created"`
	// Incarnation is random per creation: a VM recreated in the same folder (a repaired
	// worker) gets a new reconcile ID, so state keyed by ID (the daemon's broken marks) does
	// not carry over to it.
	Incarnation string `json:"incarnation,omitempty"`
	Pool        string `json:"pool,omitempty"`
	// Golden is the image hash of a golden, or of the golden a worker was made from.
	Golden  string           `json:"golden,omitempty"`
	Image   *reconcile.Image `json:"image,omitempty"`
	Box     string           `json:"box,omitempty"`
	Version string           `json:"version,omitempty"`
	User    string           `json:"user,omitempty"`
	HostKey string           `json:"hostkey,omitempty"`
	Marker  string           `json:"marker,omitempty"`
	// Rejected says why a golden failed its check (reconcile.KeyRejected).
	Rejected string `json:"rejected,omitempty"`

	// Machine: what every launch of this VM uses. A restored state needs the same.
	Memory   int    `json:"memory"`
	CPUs     int    `json:"cpus"`
	Backing  string `json:"backing,omitempty"` // the disk this VM's overlay is on
	Format   string `json:"format,omitempty"`  // the backing file's format
	Kernel   string `json:"kernel,omitempty"`
	Initrd   string `json:"initrd,omitempty"`
	Cmdline  string `json:"cmdline,omitempty"`
	GuestSSH int    `json:"guest_ssh,omitempty"` // guest SSH port, default 22
	// Egress is the pool's network.egress ("isolated" or "none"; empty: isolated), Network
	// the worker's policy (reconcile.KeyNetwork; empty on a worker made before policies were
	// recorded, whose qemu user network reached the host's loopback).
	Egress  string `json:"egress,omitempty"`
	Network string `json:"network,omitempty"`
	// From is the golden a worker was made from (its folder name).
	From string `json:"from,omitempty"`

	SSHPort   int      `json:"ssh_port,omitempty"`
	Snapshots []string `json:"snapshots,omitempty"`
	// PID and Start identify the running qemu process: the pid alone may be reused.
	PID   int    `json:"pid,omitempty"`
	Start uint64 `json:"start,omitempty"` // /proc/PID/stat starttime, clock ticks
	// PasstPID and PasstStart identify the VM's passt (network.go); zero without one.
	PasstPID   int    `json:"passt_pid,omitempty"`
	PasstStart uint64 `json:"passt_start,omitempty"`
	QMP        string `json:"qmp,omitempty"`
	Accel      string `json:"accel,omitempty"`
}

// dir returns the folder of the VM called name.
func (p *Provider) dir(name string) string { return filepath.Join(p.root, name) }

// qmpPath is the QMP socket of a VM folder; unix socket paths are short, so a long folder
// gets its socket in the temporary folder under a hash of the folder.
func qmpPath(dir string) string {
	s := filepath.Join(dir, qmpFile)
	if len(s) < 100 {
		return s
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "fleet-qmp-"+hex.EncodeToString(sum[:8])+".sock")
}

// vmID is reconcile's ID of the VM in folder: the folder name, plus "@incarnation" when the
// facts carry one.
func vmID(folder string, f *facts) string {
	if f == nil || f.Incarnation == "" {
		return folder
	}
	return folder + "@" + f.Incarnation
}

// splitID returns the folder and the incarnation (empty when absent) of an ID made by vmID.
func splitID(id string) (folder, incarnation string) {
	i := strings.LastIndexByte(id, '@')
	if i < 0 || !isIncarnation(id[i+1:]) {
		return id, ""
	}
	return id[:i], id[i+1:]
}

func isIncarnation(s string) bool {
	if len(s) != 16 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func newIncarnation() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// readFacts reads a VM folder's vm.json.
func readFacts(dir string) (*facts, error) {
	b, err := os.ReadFile(filepath.Join(dir, factsFile))
	if err != nil {
		return nil, err
	}
	var f facts
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, factsFile), err)
	}
	return &f, nil
}

// writeFacts replaces vm.json atomically.
func writeFacts(dir string, f *facts) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".vm.json-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, factsFile))
}

// update changes a VM's facts under the provider's facts lock.
func (p *Provider) update(name string, change func(f *facts)) (*facts, error) {
	p.factsMu.Lock()
	defer p.factsMu.Unlock()
	f, err := readFacts(p.dir(name))
	if err != nil {
		return nil, err
	}
	change(f)
	if err := writeFacts(p.dir(name), f); err != nil {
		return nil, err
	}
	return f, nil
}

// toVM turns facts into reconcile's view; alive says the recorded process runs.
func toVM(id string, f *facts, alive bool) reconcile.VM {
	v := reconcile.VM{
		Name: f.Name, ID: id, Role: f.Role, Pool: f.Pool, Phase: f.Phase, Image: f.Golden, ImageFacts: f.Image,
		Box: f.Box, Version: f.Version, Created: f.Created, Memory: f.Memory, CPUs: f.CPUs,
		HostKey: f.HostKey, SSHPort: f.SSHPort, Snapshots: slices.Clone(f.Snapshots), Rejected: f.Rejected,
		Network: f.Network,
	}
	if f.Role == reconcile.RoleWorker && f.Network == "" {
		v.Network = reconcile.NetworkLegacy
	}
	switch {
	case alive:
		v.Power = reconcile.PowerRunning
	case f.PID != 0:
		v.Power = reconcile.PowerAborted // it ran, and nobody stopped it
	default:
		v.Power = reconcile.PowerStopped
	}
	return v
}
