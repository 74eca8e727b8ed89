// Package vbox is the VirtualBox driver: every VBoxManage call the agent makes, the parsers
// for what VBoxManage prints, and the classification of its errors.
//
// All calls go through one exec seam (exec.go), which forces an English locale, applies a
// per-call timeout, logs the argv at debug level and hands stderr to Classify (classify.go).
// Transient lock errors are retried there with a bounded backoff (retry.go); mutations of the
// same VM are serialised and mutations host-wide are bounded by Config.MaxParallel
// (serialise.go). Forwarded host ports are allocated under a host-wide file lock (ports.go).
//
// The parsers (parse_*.go) are pure functions over bytes so they can be tested against the
// real captures in testdata/samples and fuzzed alone. They accept LF and CRLF output,
// leading WARNING blocks, multi-line quoted values and the odd non key=value lines that real
// VBoxManage versions print.
//
// The driver never imports the simulator in vbox/vboxsim: the two are independent readings of
// the same real samples, and only the integration tests put them together.
package vbox
