// Package reconcile makes a host's VMs match fleet.hcl, level-triggered: observe what the
// provider has into an Inventory, compute the Desired state from the spec, Diff the two into a
// Plan of plain-data actions, render the plan for humans (text) or machines (JSON), and Apply
// it in dependency order with bounded parallelism, retries of transient failures and every
// permanent failure returned together.
//
// The package knows no hypervisor. It declares the Provider it needs (observe, import a box,
// build a golden image, create, start and destroy a worker); package vboxprovider adapts the
// VirtualBox driver to it, and a QEMU provider (folders, processes, QMP) fits the same
// interface. Facts about each managed VM (owner, role, pool, image hash, phase, creation time,
// pinned host key) are stored by the provider with the VM itself, under the Key* names, so a
// fresh agent sees exactly what an earlier one left.
//
// Diff is pure: the busy, broken, cordoned and unhealthy marks the daemon knows are fields of
// the Inventory, and the time is Inventory.Now. The state-transition table of one worker is in
// transitions.go, with a test that every (desired, observed) pair has an action.
package reconcile
