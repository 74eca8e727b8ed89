// Package spec reads fleet.hcl, the desired state of one build host: which boxes it imports, which
// pools of build VMs it runs, how they are provisioned and which Resque queues they serve.
//
// Load parses a file or a folder of *.hcl files (with Terraform-style override files), applies a
// default to every optional attribute, resolves relative paths against the declaring file's
// folder and validates the result. Every problem is returned at once as HCL diagnostics that
// carry the file, line and column of the value at fault. This file holds the exported model; the
// defaults documented on each field are the ones docs/FLEET-HCL.md lists.
package spec

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Fleet is the whole desired state of one host, as declared in fleet.hcl. A Fleet returned by
// Load is complete: every optional attribute holds its default and every path is absolute.
type Fleet struct {
	Host       Host
	VirtualBox VirtualBox
	QEMU       QEMU
	Queue      Queue
	Reconcile  Reconcile
	Metrics    Metrics
	Web        Web
	Boxes      []*Box   // in declaration order, file by file
	Pools      []*Pool  // in declaration order, file by file; at least one
	Files      []string // the files the fleet was read from, in load order (overrides last)

	// Reports are the receivers of job events (`report "http"` blocks), in declaration order;
	// empty when none is declared. They hold credentials: never print them with %+v.
	Reports []*Report
}

// Box returns the box declared with name, or nil.
func (f *Fleet) Box(name string) *Box {
	for _, b := range f.Boxes {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// Pool returns the pool declared with name, or nil.
func (f *Fleet) Pool(name string) *Pool {
	for _, p := range f.Pools {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Host describes the machine the agent runs on.
type Host struct {
	// Name identifies this host in Resque worker ids ("name:pid:queues") and VM ownership marks.
	// Default: os.Hostname() with every character outside [A-Za-z0-9._-] replaced by "-". Never
	// contains a colon, because Resque splits worker ids on colons.
	Name string
	// StateDir holds the agent's own files (control socket, drain mark, downloads). Absolute.
	// Default: /var/lib/fleet.
	StateDir string
}

// VirtualBox configures the VBoxManage driver.
type VirtualBox struct {
	// Manage is the VBoxManage executable, a name looked up in PATH or a path. Default: "VBoxManage".
	Manage string
	// MaxParallel bounds concurrent VBoxManage calls that change state (import, clone, start).
	// Default: 2; allowed 1..32.
	MaxParallel int
	// SSHPortRange is the inclusive range of host ports forwarded to the guests' SSH port.
	// Default: [2200, 2999].
	SSHPortRange [2]int
	// CallTimeout bounds a single VBoxManage call. Default: 10m (a large import takes minutes).
	CallTimeout time.Duration
}

// Queue configures the Resque-compatible Redis queue.
type Queue struct {
	// Redis is the server URL (redis://, rediss:// or unix://). Default: "redis://127.0.0.1:6379/0".
	Redis string
	// Namespace prefixes every key, as Resque's namespace does. Default: "resque".
	Namespace string
	// MaxAttempts is how often a job whose VM failed under it is run again before it is recorded
	// as failed. Default: 3.
	MaxAttempts int
	// HostLease is how long this host's lease in Redis lasts without a heartbeat; once it has
	// expired any live host requeues this host's jobs. Default: 30s; at least 3 heartbeats.
	HostLease time.Duration
	// Heartbeat is how often the lease and Resque's workers:heartbeat are renewed. Default: 10s.
	Heartbeat time.Duration
	// Credentials are the ACL user and password source (never the password itself).
	Credentials QueueCredentials
}

// Box is a Vagrant base box that pools build on.
type Box struct {
	Name     string // the block label
	Version  string // required; part of every golden image's hash
	URL      string // required; file://, http:// or https:// (relative file: URLs made absolute)
	Checksum string // "sha256:<hex>" (or sha1/sha512), lower case; empty = not verified
	SSH      BoxSSH
	// Format is BoxFormatVagrant (default, imported by VirtualBox) or BoxFormatQEMU (a qcow2
	// box imported by QEMU); a pool's provider must fit it.
	Format string
	// Cmdline, for a QEMU box, replaces the kernel command line the box ships in its cmdline
	// file; empty keeps the box's.
	Cmdline string
	// FormatRange is the value of the format attribute, or the block header when defaulted.
	FormatRange hcl.Range
	// DeclRange is the `box "name"` header, for diagnostics about the box as a whole.
	DeclRange hcl.Range
}

// BoxSSH says how to log in to guests made from a box.
type BoxSSH struct {
	User       string // default "vagrant"
	PrivateKey string // absolute path; empty means Vagrant's well-known insecure key
	Port       int    // guest SSH port; default 22
}

// Provider names accepted by pool.provider.
const (
	ProviderVirtualBox = "virtualbox"
	ProviderQEMU       = "qemu"
)

// Rollback strategies accepted by pool.rollback.
const (
	RollbackReadySnapshot  = "ready-snapshot"   // restore the live `ready` snapshot after each job
	RollbackPerJobSnapshot = "per-job-snapshot" // snapshot before each job, restore it afterwards
)

// Pool is a set of identical build VMs cloned from one golden image.
type Pool struct {
	Name     string // the block label; a VM name prefix ([a-z0-9][a-z0-9-]*, at most 40 characters)
	Box      string // required; names a declared box
	Provider string // default "virtualbox", or "qemu"; the pool's box must be in the matching format
	VMs      int    // default 1; 0..200
	Memory   int    // MiB; default 1024; 128..262144
	CPUs     int    // default 1; 1..64
	// Queues are the Resque queues the pool's workers serve, in priority order. Default: the pool
	// name alone.
	Queues    []string
	Provision *ChefSolo // nil when the pool declares no provision block
	Job       Job
	Rollout   Rollout
	Rollback  string // default "ready-snapshot"
	SSH       PoolSSH
	Network   Network // what its builds may reach; see network.go
	// DeclRange is the `pool "name"` header; BoxRange is the value of the box attribute.
	DeclRange, BoxRange hcl.Range
}

// ChefSolo is a pool's `provision "chef_solo"` block: how its golden image is provisioned.
type ChefSolo struct {
	// Cookbooks are absolute cookbook folders, searched in order. Default: ["cookbooks"] next to
	// the declaring file.
	Cookbooks []string
	Recipes   []string // required; "cookbook" or "cookbook::recipe"
	// Attributes is the json attribute as plain Go values (string, float64, bool, nil, []any,
	// map[string]any). Default: an empty map.
	Attributes map[string]any
	// RecipesRange is the value of the recipes attribute; RecipeRanges holds one range per
	// recipe (each element's own range when written as a list literal, else RecipesRange).
	// CookbooksRange is the value of the cookbooks attribute, or the block header when the
	// default is used.
	RecipesRange   hcl.Range
	RecipeRanges   []hcl.Range
	CookbooksRange hcl.Range
	Timeout        time.Duration // bound on one chef-solo run; default 30m
	SudoPath       string        // default "sudo"
	ChefSoloPath   string        // default "chef-solo"
}

// Job holds the limits applied to every job a pool runs.
type Job struct {
	Timeout    time.Duration // hard limit; default 50m
	LogSilence time.Duration // fail a job that prints nothing this long; default 10m
	MaxLog     int64         // bytes of log kept before the job is stopped; default 4MiB
}

// Rollout controls how workers are replaced when the golden image changes.
type Rollout struct {
	MaxUnavailable int // workers replaced at once; default 1; at least 1
}
