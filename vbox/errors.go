package vbox

// This file holds the error vocabulary of the driver: the sentinels callers match with
// errors.Is and the *CmdError every failed VBoxManage call turns into.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error classes a failed VBoxManage call can belong to. A *CmdError matches at most one of
// them with errors.Is; an unclassified failure matches none.
var (
	// ErrNotFound means the VM, snapshot, NAT rule or medium named in the call does not exist
	// (VBOX_E_OBJECT_NOT_FOUND, "Could not find a registered machine named ...").
	ErrNotFound = errors.New("vbox: not found")
	// ErrLocked means the machine's session lock is held by someone else
	// (VBOX_E_INVALID_OBJECT_STATE). It is transient and retried by the driver.
	ErrLocked = errors.New("vbox: machine locked")
	// ErrTransient means VBoxManage failed for a reason that real drivers retry but that is not
	// a session lock: "The object is not ready" (E_ACCESSDENIED) or VBoxSVC not reachable
	// (CO_E_SERVER_EXEC_FAILURE).
	ErrTransient = errors.New("vbox: transient failure")
	// ErrInvalidState means the machine is in the wrong state for the call (not running, not
	// mutable, changing state; VBOX_E_INVALID_VM_STATE). It is final: change the state first.
	ErrInvalidState = errors.New("vbox: invalid machine state")
	// ErrAlreadyExists means the object the call would create already exists: a NAT rule of
	// the same name, a settings file, a hard disk with the same UUID.
	ErrAlreadyExists = errors.New("vbox: already exists")
	// ErrUsage means VBoxManage rejected the command line (exit code 2, or "Unknown option"
	// with modifyvm's exit code 1).
	ErrUsage = errors.New("vbox: usage error")
	// ErrNotInstalled means the VBoxManage binary could not be run at all.
	ErrNotInstalled = errors.New("vbox: VBoxManage not installed")
	// ErrUnexpectedOutput means a call succeeded but its output could not be parsed.
	ErrUnexpectedOutput = errors.New("vbox: unexpected output")
)

// CmdError is a failed VBoxManage call. It always carries the command, the exit code and the
// first error line VBoxManage printed, and unwraps to its class (one of the sentinels above,
// or nil when the failure is not classified).
type CmdError struct {
	// Args is the argv given to VBoxManage, without the program name.
	Args []string
	// ExitCode is the process exit code; -1 when the process could not be started or was
	// killed.
	ExitCode int
	// Message is VBoxManage's own first error line, without the "VBoxManage: error: " prefix.
	Message string
	// Code is the HRESULT name (VBOX_E_OBJECT_NOT_FOUND, E_ACCESSDENIED, ...) when printed.
	Code string
	// Hex is the HRESULT value as printed (0x80bb0001), lower case, when printed.
	Hex string
	// Stderr is everything VBoxManage printed on stderr.
	Stderr string
	// Class is the sentinel this error matches, or nil.
	Class error
	// Cause is an underlying Go error (a start failure, a timeout), or nil.
	Cause error
}

// Error renders the command, the exit code and the first error line.
func (e *CmdError) Error() string {
	var b strings.Builder
	b.WriteString("vboxmanage")
	for _, a := range e.Args {
		b.WriteByte(' ')
		if a == "" || strings.ContainsAny(a, " \t\r\n\"'") {
			b.WriteString(strconv.Quote(a))
		} else {
			b.WriteString(a)
		}
	}
	fmt.Fprintf(&b, ": exit %d", e.ExitCode)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != "" && !strings.Contains(e.Message, e.Code) {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the error class and the underlying cause, so errors.Is matches both.
func (e *CmdError) Unwrap() []error {
	var errs []error
	if e.Class != nil {
		errs = append(errs, e.Class)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// Retryable reports whether err is a failure real drivers retry: a session lock or another
// transient VirtualBox error. Not-found, invalid state, usage errors and existing objects are
// final.
func Retryable(err error) bool {
	return errors.Is(err, ErrLocked) || errors.Is(err, ErrTransient)
}
