// This file renders what VBoxManage prints when something fails: the
// GluePrintErrorInfo block, the no-extended-info form, progress lines and
// syntax errors with a usage excerpt, each with its exit code.

package vboxsim

import (
	"fmt"
	"strings"
)

// HRESULT names and values as printed on Linux (XPCOM).
var hresults = map[string]string{
	"VBOX_E_OBJECT_NOT_FOUND":     "0x80bb0001",
	"VBOX_E_INVALID_VM_STATE":     "0x80bb0002",
	"VBOX_E_VM_ERROR":             "0x80bb0003",
	"VBOX_E_FILE_ERROR":           "0x80bb0004",
	"VBOX_E_IPRT_ERROR":           "0x80bb0005",
	"VBOX_E_INVALID_OBJECT_STATE": "0x80bb0007",
	"VBOX_E_OBJECT_IN_USE":        "0x80bb000c",
	"NS_ERROR_INVALID_ARG":        "0x80070057",
	"NS_ERROR_FAILURE":            "0x80004005",
	"E_ACCESSDENIED":              "0x80070005",
	"CO_E_SERVER_EXEC_FAILURE":    "0x80080005",
}

// prefix starts every stderr error line, as on a Linux host.
const prefix = "VBoxManage: error: "

// exitError is a failed command: what to print on stderr and the exit code.
// Stdout may already have been written by the command.
type exitError struct {
	stderr string
	code   int
}

func (e *exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.stderr) }

// apiError builds the three-line error block (message, Details, Context)
// with exit code 1.
func apiError(msg, code, component, iface, context string) *exitError {
	return &exitError{stderr: errorBlock(msg, code, component, iface, context), code: 1}
}

// errorBlock renders GluePrintErrorInfo + GluePrintErrorContext.
func errorBlock(msg, code, component, iface, context string) string {
	return renderBlock(msg, code, component, iface, context, ", callee nsISupports")
}

// renderBlock renders an error block; callee is empty for errors carried by
// a progress object, which VirtualBox prints without it.
func renderBlock(msg, code, component, iface, context, callee string) string {
	var b strings.Builder
	for _, line := range strings.Split(msg, "\n") {
		b.WriteString(prefix + line + "\n")
	}
	fmt.Fprintf(&b, "%sDetails: code %s (%s), component %s, interface %s%s\n",
		prefix, code, hresults[code], component, iface, callee)
	fmt.Fprintf(&b, "%sContext: %q at line %d of file %s\n", prefix, context, contextLine(context), contextFile(context))
	return b.String()
}

// noInfoError is the "Code X (0x...) - text (extended info not available)"
// form VirtualBox prints when Main set no error info.
func noInfoError(code, text, context, file string) *exitError {
	s := fmt.Sprintf("%sCode %s (%s) - %s (extended info not available)\n%sContext: %q at line %d of file %s\n",
		prefix, code, hresults[code], text, prefix, context, contextLine(context), file)
	return &exitError{stderr: s, code: 1}
}

// progressFailure renders a progress that stopped at pct, the
// "Progress state" line and the error block of the failed operation.
func progressFailure(pct int, code, headline, msg, component, iface, context string) *exitError {
	var b strings.Builder
	b.WriteString(progressText(pct, false))
	fmt.Fprintf(&b, "Progress state: %s\n", code)
	b.WriteString(prefix + headline + "\n")
	b.WriteString(renderBlock(msg, code, component, iface, context, ""))
	return &exitError{stderr: b.String(), code: 1}
}

// progressText renders "0%...10%...": up to pct, closed with a newline.
// complete renders the successful "...90%...100%" ending.
func progressText(pct int, complete bool) string {
	var b strings.Builder
	for p := 0; p <= pct && p < 100; p += 10 {
		fmt.Fprintf(&b, "%d%%...", p)
	}
	if complete {
		b.WriteString("100%")
	}
	b.WriteString("\n")
	return b.String()
}

// notFound is FindMachine's error for an unknown name or UUID.
func notFound(arg, context string) *exitError {
	msg := fmt.Sprintf("Could not find a registered machine named '%s'", arg)
	if isUUID(trimBraces(arg)) {
		msg = fmt.Sprintf("Could not find a registered machine with UUID {%s}", trimBraces(arg))
	}
	return apiError(msg, "VBOX_E_OBJECT_NOT_FOUND", "VirtualBoxWrap", "IVirtualBox", context)
}

// lockedForSession is LockMachine(Write)'s refusal on a locked machine.
func lockedForSession(name, context string) *exitError {
	return apiError(fmt.Sprintf("The machine '%s' is already locked for a session (or being unlocked)", name),
		"VBOX_E_INVALID_OBJECT_STATE", "MachineWrap", "IMachine", context)
}

// snapshotNotFound is the snapshot lookup failure.
func snapshotNotFound(name string) *exitError {
	return apiError(fmt.Sprintf("Could not find a snapshot named '%s'", name),
		"VBOX_E_OBJECT_NOT_FOUND", "MachineWrap", "IMachine",
		"FindSnapshot(Bstr(pszSnapshotName).raw(), pSnapshot.asOutParam())")
}

// syntaxError is errorSyntax: the message, a blank line and the usage of the
// (sub)command, exit 2.
func syntaxError(cmd, format string, args ...any) *exitError {
	msg := fmt.Sprintf(format, args...)
	u, ok := usages[cmd]
	if !ok {
		u = "VBoxManage " + cmd + " ..."
	}
	return &exitError{stderr: fmt.Sprintf("%s%s\n\nUsage:\n\n  %s\n", prefix, msg, u), code: 2}
}

var usages = map[string]string{
	"list":          "VBoxManage list [--long] [--sorted] vms|runningvms|systemproperties",
	"showvminfo":    "VBoxManage showvminfo <uuid|vmname> [--details] [--machinereadable]",
	"createvm":      "VBoxManage createvm <--name=name> [--basefolder=basefolder] [--ostype=ostype] [--register] [--uuid=uuid]",
	"unregistervm":  "VBoxManage unregistervm <uuid|vmname> [--delete] [--delete-all]",
	"modifyvm":      "VBoxManage modifyvm <uuid|vmname> [--name=name] [--memory=size-in-MB] [--cpus=CPU-count] [--ostype=ostype] [--description=description] [--natpf<1-N>=[rule-name],tcp|udp,[host-IP],hostport,[guest-IP],guestport] [--natpf<1-N>=delete,rule-name]",
	"startvm":       "VBoxManage startvm <uuid|vmname...> [--putenv=name[=value]] [--type= [gui | headless | sdl | separate] ]",
	"controlvm":     "VBoxManage controlvm <uuid|vmname> pause | resume | reset | poweroff | savestate | acpipowerbutton | natpf<1-N> [rulename],tcp|udp,[host-IP],hostport,[guest-IP],guestport | natpf<1-N> delete rulename",
	"snapshot":      "VBoxManage snapshot <uuid|vmname> take <snapshot-name> [--description=description] [--live] [--uniquename Number,Timestamp,Space,Force] | delete <snapshot-name> | restore <snapshot-name> | restorecurrent | list [--details | --machinereadable]",
	"clonevm":       "VBoxManage clonevm <vmname|uuid> [--basefolder=basefolder] [--groups=group,...] [--mode=machine | --mode=machinechildren | --mode=all] [--name=name] [--options=option,...] [--register] [--snapshot=snapshot-name] [--uuid=uuid]",
	"import":        "VBoxManage import <ovfname | ovaname> [--dry-run] [--options= keepallmacs | keepnatmacs | importtovdi ] [--vsys=n] [--ostype=ostype] [--vmname=name] [--memory=MB] [--cpus=n] [--unit=n] [--ignore] [--disk=path]",
	"export":        "VBoxManage export <machines> <--output=name> [--legacy09 | --ovf09 | --ovf10 | --ovf20] [--manifest] [--options= manifest | iso | nomacs | nomacsbutnat ] [--vsys=n] [--vmname=name]",
	"setextradata":  "VBoxManage setextradata <global | uuid | vmname> <keyword> [value]",
	"getextradata":  "VBoxManage getextradata <global | uuid | vmname> <keyword | enumerate>",
	"guestproperty": "VBoxManage guestproperty get <uuid | vmname> <property-name> [--verbose] | set <uuid | vmname> <property-name> [property-value [--flags=flags]]",
}

// contextLine gives each Context a stable made-up line number; the driver
// must never match on it.
func contextLine(context string) int {
	h := 0
	for _, c := range context {
		h = (h*31 + int(c)) % 3000
	}
	return 200 + h
}

func contextFile(context string) string {
	switch {
	case strings.HasPrefix(context, "FindMachine"):
		return "VBoxManageInfo.cpp"
	case strings.HasPrefix(context, "LaunchVMProcess"):
		return "VBoxManageMisc.cpp"
	case strings.Contains(context, "Snapshot"):
		return "VBoxManageSnapshot.cpp"
	case strings.HasPrefix(context, "Unregister"), strings.HasPrefix(context, "CreateMachine"), strings.HasPrefix(context, "CloneTo"):
		return "VBoxManageMisc.cpp"
	case strings.Contains(context, "Appliance"):
		return "VBoxManageAppliance.cpp"
	case strings.HasPrefix(context, "LockMachine(a->session, LockType_Write)"), strings.HasPrefix(context, "COMSETTER"), strings.HasPrefix(context, "AddRedirect"):
		return "VBoxManageModifyVM.cpp"
	default:
		return "VBoxManageControlVM.cpp"
	}
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
