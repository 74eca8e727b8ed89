// The observed side of a diff: every VM the provider reported, the facts each managed VM
// carries, the marks the daemon adds (busy, broken, cordoned, unhealthy), and the boxes in the
// download cache. Also the naming rules of managed VMs, which Diff and the providers share.

package reconcile

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Keys of the facts a provider stores with each managed VM (VirtualBox extradata; a file next
// to the disk for a registry-less provider).
const (
	KeyOwner   = "fleet/owner"   // spec Host.Name of the agent that owns the VM
	KeyRole    = "fleet/role"    // RoleBox, RoleGolden or RoleWorker
	KeyPool    = "fleet/pool"    // the pool of a golden or worker
	KeyGolden  = "fleet/golden"  // image hash of a golden, or of the golden a worker was cloned from
	KeyImage   = "fleet/image"   // a golden's Image as JSON, so a plan can say why it is stale
	KeyBox     = "fleet/box"     // box name of a box VM
	KeyVersion = "fleet/version" // box version of a box VM
	KeyPhase   = "fleet/phase"   // PhaseCreating or PhaseReady
	KeyCreated = "fleet/created" // RFC 3339 time the creation started
	KeyHostKey = "fleet/hostkey" // pinned SSH host key (authorized_keys form), once ready
)

// Roles of managed VMs.
const (
	RoleBox    = "box"
	RoleGolden = "golden"
	RoleWorker = "worker"
)

// Phases of managed VMs. A VM is marked creating before anything else is done to it and ready
// as the last step of its creation, so a crash in between leaves a VM Diff recognises.
const (
	PhaseCreating = "creating"
	PhaseReady    = "ready"
)

// Snapshot names: a golden's clones are linked to SnapshotGolden, a worker is rolled back to
// its live SnapshotReady after each job.
const (
	SnapshotGolden = "golden"
	SnapshotReady  = "ready"
)

// Power is a provider-neutral power state.
type Power string

// Power states.
const (
	PowerRunning  Power = "running"  // running or paused: a live VM
	PowerStopped  Power = "stopped"  // powered off or saved: can be started
	PowerAborted  Power = "aborted"  // the VM process died
	PowerChanging Power = "changing" // on its way to another state (starting, saving, ...)
	PowerUnknown  Power = "unknown"  // the provider cannot tell (inaccessible settings)
)

// VM is one managed VM as observed, with the facts it carries and the daemon's marks.
type VM struct {
	Name string
	// ID is the provider's identifier (VirtualBox UUID, QEMU folder); names need not be unique.
	ID    string
	Role  string
	Pool  string
	Phase string
	// Image is the golden image hash (KeyGolden) of a golden or of a worker's golden.
	Image string
	// ImageFacts is a golden's decoded KeyImage, nil when absent or unreadable.
	ImageFacts *Image
	// Box and Version name a box VM's box.
	Box, Version string
	// Created is KeyCreated; zero when absent or unreadable.
	Created time.Time
	Power   Power
	// Snapshots are the names of the VM's snapshots, in any order.
	Snapshots []string
	Memory    int // MiB
	CPUs      int
	HostKey   string
	// SSHPort is the host port forwarded to the guest's SSH port, 0 when none.
	SSHPort int
	// Rejected is a golden's KeyRejected: why it failed its check and is not used.
	Rejected string
	// Network is a worker's KeyNetwork: the network policy it was made with; empty when the
	// provider recorded none (taken as the default policy).
	Network string

	// Marks fed by the daemon (Inventory.Mark); apply-only callers leave them false.
	Busy      bool   // a job is running on it: disruptive actions wait
	Broken    bool   // the sandbox could not roll it back: repair
	Cordoned  bool   // taken out of rotation: counts as out of service for rollouts
	Unhealthy string // why its health check failed, or ""
}

// HasSnapshot reports whether the VM has a snapshot called name.
func (v *VM) HasSnapshot(name string) bool { return slices.Contains(v.Snapshots, name) }

// Foreign is a VM this agent does not own: listed, never changed.
type Foreign struct {
	Name string
	ID   string
	// Owner is the fleet/owner of another agent's VM, empty for VMs nobody manages.
	Owner string
}

// BoxKey names a box version in the download cache.
type BoxKey struct{ Name, Version string }

// Inventory is everything observed about this host in one pass.
type Inventory struct {
	// Owner is the host name whose VMs are managed (spec Host.Name).
	Owner string
	// Now is the time of the observation; Diff compares creation times with it.
	Now time.Time
	// Exclusive says the observer holds the host's apply lock, so no other pass is running and
	// every VM still in phase creating was left by a pass that died.
	Exclusive bool
	VMs       []VM
	Foreign   []Foreign
	// Cached are the boxes already downloaded and unpacked.
	Cached []BoxKey
}

// Mark sets the daemon's marks on the VMs named: busy (a job runs on it), broken (rollback
// failed) and cordoned (out of rotation); unhealthy maps names to the failed check.
func (inv *Inventory) Mark(busy, broken, cordoned []string, unhealthy map[string]string) {
	for i := range inv.VMs {
		v := &inv.VMs[i]
		v.Busy = slices.Contains(busy, v.Name)
		v.Broken = slices.Contains(broken, v.Name)
		v.Cordoned = slices.Contains(cordoned, v.Name)
		v.Unhealthy = unhealthy[v.Name]
	}
}

// HasBox reports whether the cache holds the box version.
func (inv *Inventory) HasBox(name, version string) bool {
	return slices.Contains(inv.Cached, BoxKey{name, version})
}

// WorkerName is the name of worker n (from 1) of pool.
func WorkerName(pool string, n int) string { return pool + "-" + strconv.Itoa(n) }

// ParseWorkerName splits "<pool>-<n>" into pool and n; ok is false unless n is a positive
// decimal number without leading zeros.
func ParseWorkerName(name string) (pool string, n int, ok bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return "", 0, false
	}
	digits := name[i+1:]
	if digits[0] == '0' || len(digits) > 6 {
		return "", 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", 0, false
		}
	}
	n, _ = strconv.Atoi(digits)
	return name[:i], n, true
}

// GoldenName is the name of pool's golden VM for the image hash.
func GoldenName(pool, hash string) string { return "fleet-golden-" + pool + "-" + shortHash(hash) }

// BoxVMName is the name of the VM a box version is imported as.
func BoxVMName(box, version string) string { return "fleet-box-" + box + "-" + version }

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// ParseTime reads a KeyCreated value; the zero time when s is not RFC 3339.
func ParseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
