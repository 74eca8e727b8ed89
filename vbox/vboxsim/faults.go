// This file is fault injection: rules read from HOME/faults.json that make
// the Nth call of an operation fail, a boot never bring SSH up, a VM abort,
// or a clone die half way. Hit counters live in the state under its lock.

package vboxsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/fleet-agent/fleet/internal/jsontime"
)

// Fault kinds.
const (
	// FaultError fails the matching call with an error block (the default).
	FaultError = "error"
	// FaultNoSSH makes the guest started by the matching startvm never
	// serve SSH.
	FaultNoSSH = "no-ssh"
	// FaultAbort makes the guest started by the matching startvm die After
	// its start, so the VM turns aborted.
	FaultAbort = "abort"
	// FaultCloneDies makes the matching clonevm register the target, copy
	// half the disk and fail, leaving a registered but broken VM.
	FaultCloneDies = "clone-dies"
	// FaultLockLinger keeps the session lock for After once the matching
	// poweroff returns.
	FaultLockLinger = "lock-linger"
)

// Named error blocks for FaultError rules (Fault.Block).
const (
	BlockObjectNotReady = "object-not-ready"
	BlockLocked         = "locked"
	BlockNotFound       = "not-found"
	BlockServerExec     = "server-exec-failure"
	BlockVMError        = "vm-error"
)

// Fault is one fault-injection rule.
type Fault struct {
	// ID keys the rule's hit counter; it defaults to the rule's index.
	ID string `json:"id,omitempty"`
	// Op is the operation name (see doc.go), e.g. "showvminfo", "startvm".
	Op string `json:"op"`
	// VM limits the rule to calls naming this VM (name or UUID); empty
	// matches every call.
	VM string `json:"vm,omitempty"`
	// Nth is the first matching call (1-based) that faults; 0 means 1.
	Nth int `json:"nth,omitempty"`
	// Times is how many calls from Nth on fault; 0 means 1, -1 every call.
	Times int `json:"times,omitempty"`
	// Kind is one of the Fault* kinds; empty means FaultError.
	Kind string `json:"kind,omitempty"`
	// Block names a canned error block; Stderr, if set, is printed instead.
	Block  string `json:"block,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// Exit is the exit code of an error fault; 0 means 1.
	Exit int `json:"exit,omitempty"`
	// After is the delay of abort and lock-linger faults.
	After Duration `json:"after,omitempty"`
}

// Duration is a time.Duration that reads and writes as "1.5s" in JSON.
type Duration = jsontime.Duration

func faultsPath(home string) string { return filepath.Join(home, "faults.json") }

// WriteFaults replaces the fault rules of the simulator whose state lives in
// home. Hit counters of rules with the same ID carry on.
func WriteFaults(home string, faults ...Fault) error {
	b, err := json.MarshalIndent(faults, "", "  ")
	if err != nil {
		return fmt.Errorf("encode faults: %w", err)
	}
	tmp := faultsPath(home) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write faults: %w", err)
	}
	if err := os.Rename(tmp, faultsPath(home)); err != nil {
		return fmt.Errorf("write faults: %w", err)
	}
	return nil
}

// ParseFaults decodes a faults.json document.
func ParseFaults(b []byte) ([]Fault, error) {
	var fs []Fault
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, fmt.Errorf("decode faults: %w", err)
	}
	for i := range fs {
		if fs[i].Op == "" {
			return nil, fmt.Errorf("fault %d: op is required", i)
		}
		switch fs[i].Kind {
		case "", FaultError, FaultNoSSH, FaultAbort, FaultCloneDies, FaultLockLinger:
		default:
			return nil, fmt.Errorf("fault %d: unknown kind %q", i, fs[i].Kind)
		}
		if fs[i].ID == "" {
			fs[i].ID = strconv.Itoa(i)
		}
	}
	return fs, nil
}

func loadFaults(home string) ([]Fault, error) {
	b, err := os.ReadFile(faultsPath(home))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read faults: %w", err)
	}
	return ParseFaults(b)
}

// hit counts a call of op on vm (the machine, nil for none) against every
// matching rule and returns the rules that fire on this call.
func hit(st *State, faults []Fault, op, arg string, m *Machine) []Fault {
	var fired []Fault
	for _, f := range faults {
		if f.Op != op {
			continue
		}
		if f.VM != "" && f.VM != arg && (m == nil || (f.VM != m.Name && f.VM != m.UUID)) {
			continue
		}
		if st.FaultHits == nil {
			st.FaultHits = map[string]int{}
		}
		st.FaultHits[f.ID]++
		n := st.FaultHits[f.ID]
		first := max(f.Nth, 1)
		times := f.Times
		if times == 0 {
			times = 1
		}
		if n >= first && (times < 0 || n < first+times) {
			fired = append(fired, f)
		}
	}
	return fired
}

// errorFor renders an error fault for the machine named name.
func errorFor(f Fault, name string) *exitError {
	code := f.Exit
	if code == 0 {
		code = 1
	}
	if f.Stderr != "" {
		return &exitError{stderr: f.Stderr, code: code}
	}
	var e *exitError
	switch f.Block {
	case BlockLocked:
		e = lockedForSession(name, "LockMachine(a->session, LockType_Write)")
	case BlockNotFound:
		e = notFound(name, "FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())")
	case BlockServerExec:
		e = apiError("Failed to create the VirtualBox object!", "CO_E_SERVER_EXEC_FAILURE", "VirtualBoxClientWrap", "IVirtualBoxClient", "VirtualBox")
	case BlockVMError:
		e = apiError("Failed to get a console object from the direct session (Unknown Status 0x80BB0002)", "VBOX_E_VM_ERROR", "SessionMachine", "IMachine", "LockMachine(a->session, LockType_Shared)")
	default:
		e = apiError("The object is not ready", "E_ACCESSDENIED", "SessionMachine", "IMachine", "LockMachine(a->session, LockType_Shared)")
	}
	e.code = code
	return e
}
