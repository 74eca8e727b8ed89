// Package sandbox runs one build job on one worker VM and then puts the VM
// back exactly as it was: the reason the fleet agent exists. A build runs
// arbitrary code; nothing it does may survive it, and nothing it does may
// reach the host.
//
// A Sandbox owns one worker VM. Run takes a fetched job, generates its build
// script on the host (every payload value single-quoted; see script.go),
// uploads it over the guest package's SSH communicator with the VM's pinned
// host key and the agent's key, runs it with the job's limits (hard timeout,
// log silence, max log size, cancel from the queue; see limits.go and
// watch.go), streams the output to the queue's log record in small chunks and
// to a local file (logstream.go), records the result, and rolls the VM back
// (rollback.go).
//
// Results: passed and failed are the script's verdict (its exit code);
// errored is a limit the job hit; canceled is a cancel request from the
// queue. A job cut short by the infrastructure (the VM or its SSH connection
// went away, the script could not be uploaded) is handed back to the queue
// with its attempt counted.
//
// Rollback runs after every job, whatever its result. With the default
// strategy ("ready-snapshot") the VM is powered off, its live `ready`
// snapshot restored, every other snapshot deleted and the VM started again
// from the saved state; with "per-job-snapshot" a live snapshot taken just
// before the job is restored and deleted instead. Either way the VM must
// then answer SSH with its pinned host key and still hold the marker file
// written when it became ready. A VM that fails any step is broken: Run
// refuses every later job and the reconcile loop replaces the VM.
//
// The package declares what it needs and nothing more: VM (power, snapshots,
// the SSH endpoint; VBoxVM adapts the VirtualBox driver, the QEMU provider
// will satisfy the same interface), LogSink (satisfied by *queue.Client) and
// Slot (satisfied by *queue.Slot). It never reads or writes queue keys.
package sandbox
