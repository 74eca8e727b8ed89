package vbox

// This file is the one place where VBoxManage's stderr becomes an error class. It matches the
// HRESULT first (not translated, identical on every platform) and English text second (the
// driver forces LC_ALL=C, but 7.x may still translate), and never the Context line, whose call
// text and line number change with every build.

import (
	"bytes"
	"regexp"
	"strings"
)

var (
	// errorLine matches a line of an error block, on Linux/macOS and Windows alike.
	errorLine = regexp.MustCompile(`^VBoxManage(?:\.exe)?: error: ?(.*)$`)
	// hresult matches "code NAME (0x...)" in a Details line and "Code NAME (0x...) -" in the
	// no-extended-info form; the hex may be missing from truncated captures.
	hresult = regexp.MustCompile(`\b[Cc]ode ([A-Z][A-Z0-9_]*)(?: \((0x[0-9a-fA-F]{8})\))?`)
	// progressState matches the line a failed progress object prints before its error block.
	progressState = regexp.MustCompile(`^Progress state: ([A-Z][A-Z0-9_]*)$`)
)

// hresultClass maps HRESULT values and names to error classes.
var hresultClass = map[string]error{
	"0x80bb0001": ErrNotFound, "VBOX_E_OBJECT_NOT_FOUND": ErrNotFound,
	"0x80bb0002": ErrInvalidState, "VBOX_E_INVALID_VM_STATE": ErrInvalidState,
	"0x80bb0007": ErrLocked, "VBOX_E_INVALID_OBJECT_STATE": ErrLocked,
	"0x80070005": ErrTransient, "E_ACCESSDENIED": ErrTransient,
	"0x80080005": ErrTransient, "CO_E_SERVER_EXEC_FAILURE": ErrTransient,
}

// textClass maps English message fragments to error classes, in priority order. It is the
// fallback for lines without an HRESULT (controlvm's "is not currently running", truncated
// captures) and refines codes that cover several meanings (VBOX_E_FILE_ERROR,
// E_INVALIDARG).
var textClass = []struct {
	fragment string
	class    error
}{
	{"Could not find a registered machine", ErrNotFound},
	{"Could not find a snapshot", ErrNotFound},
	{"is already locked", ErrLocked},
	{"while it is locked", ErrLocked},
	{"The object is not ready", ErrTransient},
	{"is not currently running", ErrInvalidState},
	{"Invalid machine state", ErrInvalidState},
	{"Machine in invalid state", ErrInvalidState},
	{"is not mutable", ErrInvalidState},
	{"while it is changing the state", ErrInvalidState},
	{"Cannot delete the current state of the running machine", ErrInvalidState},
	{"already exists", ErrAlreadyExists},
	// modifyvm reports an option it does not know with exit 1, not 2 (errorGetOpt, then
	// E_FAIL): an older VirtualBox refusing a newer option.
	{"Unknown option: ", ErrUsage},
}

// Classify turns the outcome of one VBoxManage call into an error: nil on success, otherwise
// a *CmdError carrying args, the exit code and VBoxManage's first error line, which matches
// ErrNotFound, ErrLocked, ErrTransient, ErrInvalidState, ErrAlreadyExists, ErrUsage or
// ErrNotInstalled with errors.Is when the failure is recognised.
//
// Success is judged by the exit code and the error lines together: old Windows builds exit 0
// after printing an error block, so exit 0 with an error line is a failure. Progress and
// warnings on stderr alone are not.
func Classify(args []string, exitCode int, stderr []byte) error {
	stderr = bytes.ReplaceAll(stderr, []byte("\r\n"), []byte("\n"))
	var msgs []string
	code, hex := "", ""
	for line := range strings.SplitSeq(string(stderr), "\n") {
		line = strings.TrimRight(line, " \r")
		if m := progressState.FindStringSubmatch(line); code == "" && m != nil {
			code = m[1]
			continue
		}
		var m []string
		if strings.HasPrefix(line, "VBoxManage") {
			m = errorLine.FindStringSubmatch(line)
		}
		if m == nil {
			// VirtualBox 4.0 printed the Context line without the prefix; nothing else on
			// stderr carries meaning.
			continue
		}
		msgs = append(msgs, m[1])
		if h := hresult.FindStringSubmatch(m[1]); h != nil && (hex == "" || code == "") {
			code, hex = h[1], strings.ToLower(h[2])
		}
	}
	if exitCode == 0 && len(msgs) == 0 {
		return nil
	}
	e := &CmdError{
		Args:     append([]string(nil), args...),
		ExitCode: exitCode,
		Code:     code,
		Hex:      hex,
		Stderr:   string(stderr),
	}
	if len(msgs) > 0 {
		e.Message = msgs[0]
	} else {
		e.Message = firstLine(string(stderr))
	}
	e.Class = classOf(exitCode, code, hex, msgs)
	return e
}

// classOf picks the error class of a failed call.
func classOf(exitCode int, code, hex string, msgs []string) error {
	text := strings.Join(msgs, "\n")
	for _, tc := range textClass {
		if !strings.Contains(text, tc.fragment) {
			continue
		}
		// A code that names a class wins over text, except that "already exists" refines
		// the generic file and argument errors.
		if c, ok := hresultClass[hex]; ok && tc.class != c && tc.class != ErrAlreadyExists {
			return c
		}
		return tc.class
	}
	if c, ok := hresultClass[hex]; ok {
		return c
	}
	if c, ok := hresultClass[code]; ok {
		return c
	}
	switch {
	case exitCode == 2:
		return ErrUsage
	case len(msgs) == 0 && (exitCode == 126 || exitCode == 127):
		// A wrapper script or shell that cannot find or execute VBoxManage.
		return ErrNotInstalled
	}
	return nil
}

// firstLine returns the first stderr line that is not progress, for failures without an error
// block ("Progress state: E_FAIL", a crash message).
func firstLine(stderr string) string {
	for line := range strings.SplitSeq(stderr, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !progressLine.MatchString(line) {
			return line
		}
	}
	return ""
}
