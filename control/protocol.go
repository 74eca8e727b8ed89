// Package control is the agent's control socket: a unix socket in state_dir, mode 0600, over
// which `agent drain`, `agent resume` and `agent status` talk to the running daemon.
//
// The protocol is one JSON request per connection, newline-terminated, answered by one or more
// newline-terminated JSON responses; the last one has Done set. Only `drain --wait` sends more
// than one: a progress response each time the number of running jobs changes. Drain, resume
// and restart may name workers (VMs); replace names a target (a worker, golden.POOL, box.NAME). Peers are
// checked with SO_PEERCRED: only the uid that owns the socket (the daemon's) and root are
// served; the file mode already keeps others from connecting, the credential check holds even
// if someone loosens the mode.
//
// This file holds the wire types and the status model the daemon fills in and the CLI renders.
package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fleet-agent/fleet/internal/jsontime"
)

// SocketName is the control socket's file name in state_dir.
const SocketName = "agent.sock"

// Ops a request may name.
const (
	OpStatus = "status"
	OpDrain  = "drain"
	OpResume = "resume"
	// OpReplace asks for Target to be replaced (`agent replace`).
	OpReplace = "replace"
	// OpRestart asks for the workers in VMs to be rolled back to their ready snapshot.
	OpRestart = "restart"
)

// Request is what a client sends.
type Request struct {
	Op    string        `json:"op"`
	Drain *DrainRequest `json:"drain,omitempty"`
	// VMs names the workers drain, resume and restart act on. Empty for drain and resume
	// means the whole host; restart needs at least one.
	VMs []string `json:"vms,omitempty"`
	// Target is what replace replaces: a worker, golden.POOL or box.NAME.
	Target string `json:"target,omitempty"`
	// Force makes restart cancel and requeue the running job at once.
	Force bool `json:"force,omitempty"`
}

// DrainRequest carries `agent drain`'s flags.
type DrainRequest struct {
	// Deadline, when positive, cancels and requeues jobs still running that long after the
	// drain began. A later drain request replaces an earlier deadline.
	Deadline Duration `json:"deadline,omitempty"`
	// Force cancels and requeues running jobs at once.
	Force bool `json:"force,omitempty"`
	// Wait keeps the connection open, with a progress response per change, until no job runs.
	Wait bool `json:"wait,omitempty"`
}

// Response is what the server answers; the final one has Done set.
type Response struct {
	Done bool `json:"done"`
	// Error says why the request failed; empty on success.
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
}

// Duration is a time.Duration written in JSON as a Go duration string ("1h0m0s").
type Duration = jsontime.Duration

// ParseRequest decodes and checks one request line.
func ParseRequest(line []byte) (Request, error) {
	var r Request
	if err := json.Unmarshal(line, &r); err != nil {
		return Request{}, fmt.Errorf("parse request: %w", err)
	}
	if r.Target != "" && r.Op != OpReplace {
		return Request{}, fmt.Errorf("parse request: op %q takes no target", r.Op)
	}
	if r.Force && r.Op != OpRestart {
		return Request{}, fmt.Errorf("parse request: op %q takes no force", r.Op)
	}
	for _, vm := range r.VMs {
		if vm == "" {
			return Request{}, errors.New("parse request: empty VM name")
		}
	}
	switch r.Op {
	case OpStatus, OpResume, OpReplace, OpRestart:
		if r.Drain != nil {
			return Request{}, fmt.Errorf("parse request: op %q takes no drain arguments", r.Op)
		}
		switch {
		case r.Op == OpStatus && len(r.VMs) > 0:
			return Request{}, errors.New("parse request: op \"status\" takes no VMs")
		case r.Op == OpReplace && (r.Target == "" || len(r.VMs) > 0):
			return Request{}, errors.New("parse request: op \"replace\" takes exactly one target")
		case r.Op == OpRestart && len(r.VMs) == 0:
			return Request{}, errors.New("parse request: op \"restart\" needs at least one VM")
		}
	case OpDrain:
		if r.Drain == nil {
			r.Drain = &DrainRequest{}
		}
		if r.Drain.Deadline < 0 {
			return Request{}, errors.New("parse request: negative drain deadline")
		}
	default:
		return Request{}, fmt.Errorf("parse request: unknown op %q", r.Op)
	}
	return r, nil
}

// Status is everything `agent status` shows about this host. The daemon fills it in; the CLI
// prints it as text or, with --json, as this JSON.
type Status struct {
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	// Draining is true from `agent drain` (or SIGTERM) until `agent resume`.
	Draining      bool       `json:"draining"`
	DrainSince    *time.Time `json:"drain_since,omitempty"`
	DrainDeadline *time.Time `json:"drain_deadline,omitempty"`
	// Spec is the fleet.hcl in force; Rejected the last edit that did not load, if it is still
	// what the file holds.
	Spec      SpecStatus     `json:"spec"`
	Rejected  *RejectedEdit  `json:"rejected,omitempty"`
	Reconcile PassStatus     `json:"reconcile"`
	VMs       []VMStatus     `json:"vms"`
	Foreign   []ForeignVM    `json:"foreign,omitempty"`
	Failures  []ActionStatus `json:"failures,omitempty"`
	// Replacing lists the replacement requests not yet done, as "TARGET (n VMs left)".
	Replacing []string `json:"replacing,omitempty"`
	// PasswordPools are the pools that opt out of the golden hardening (ssh.allow_password):
	// their workers take the box's well-known password. Unsafe.
	PasswordPools []string `json:"password_pools,omitempty"`
}

// Running counts the jobs running on the host.
func (s *Status) Running() int {
	n := 0
	for _, v := range s.VMs {
		if v.Job != nil {
			n++
		}
	}
	return n
}

// SpecStatus describes the spec in force.
type SpecStatus struct {
	Files    []string  `json:"files"`
	Hash     string    `json:"hash"`
	LoadedAt time.Time `json:"loaded_at"`
}

// RejectedEdit is a fleet.hcl that did not load, or needs a restart; the agent keeps the last
// good spec.
type RejectedEdit struct {
	At time.Time `json:"at"`
	// Diagnostics is the loader's report, in HCL's text form (file:line:col, summary, detail).
	Diagnostics string `json:"diagnostics"`
	// RestartNeeded names the settings of an edit that loaded but changes what the agent reads
	// only at start ("host.state_dir"); the edit is pending until the agent restarts.
	RestartNeeded []string `json:"restart_needed,omitempty"`
}

// PassStatus summarises the reconcile loop.
type PassStatus struct {
	Passes   int       `json:"passes"`
	LastPass time.Time `json:"last_pass,omitzero"`
	// LastError is the last pass's observation or planning error, empty when it went through.
	LastError string `json:"last_error,omitempty"`
	// Waiting lists actions the plan holds back ("replace_worker/ruby-2: job running").
	Waiting []string `json:"waiting,omitempty"`
}

// ActionStatus is an action that failed and waits for its backoff to retry.
type ActionStatus struct {
	ID       string    `json:"id"`
	Error    string    `json:"error"`
	Failures int       `json:"failures"`
	RetryAt  time.Time `json:"retry_at"`
}

// VMStatus is one managed VM.
type VMStatus struct {
	Name  string `json:"name"`
	Pool  string `json:"pool,omitempty"`
	Role  string `json:"role"`
	State string `json:"state"`
	// Image is the golden image hash the VM is (or was cloned) from, abbreviated.
	Image string `json:"image,omitempty"`
	// Rejected, on a golden image, says why it failed its check before the snapshot (the
	// hardening or its verification from the host): it is not used, and the next pass
	// destroys and rebuilds it.
	Rejected string `json:"rejected,omitempty"`
	// Worker is the Resque worker id serving this VM, empty when no worker runs on it.
	Worker string `json:"worker,omitempty"`
	// Serving is true while the worker may fetch; Why says why not when a worker exists.
	Serving bool   `json:"serving"`
	Why     string `json:"why,omitempty"`
	// Drained is true from `agent drain VM` until `agent resume VM`: the worker takes no job.
	Drained bool `json:"drained,omitempty"`
	// Restart is true while a restart asked for is pending (after the running job).
	Restart bool       `json:"restart,omitempty"`
	Job     *JobStatus `json:"job,omitempty"`
	Last    *JobResult `json:"last,omitempty"`
}

// JobStatus is the job a VM is running.
type JobStatus struct {
	ID      string    `json:"id"`
	Queue   string    `json:"queue"`
	Attempt int       `json:"attempt"`
	Since   time.Time `json:"since"`
}

// JobResult is how the last job on a VM ended.
type JobResult struct {
	ID       string    `json:"id"`
	State    string    `json:"state"`
	ExitCode int       `json:"exit_code"`
	At       time.Time `json:"at"`
	Took     Duration  `json:"took"`
}

// ForeignVM is a VM on the host the agent does not manage.
type ForeignVM struct {
	Name  string `json:"name"`
	Owner string `json:"owner,omitempty"`
}
