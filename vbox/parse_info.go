package vbox

// This file turns `showvminfo --machinereadable` into a VMInfo.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// VMInfo is what the driver knows about one VM from `showvminfo --machinereadable`.
type VMInfo struct {
	Name string
	UUID string
	// State is VBoxManage's own short state word: "running", "poweroff", "saved",
	// "aborted-saved", "paused", "stopping", ... (see IsRunning, IsStopped, IsTransient).
	State string
	// StateChangeTime is VMStateChangeTime as printed (UTC, no zone suffix).
	StateChangeTime string
	// CfgFile is the path of the VM's .vbox settings file; its mtime changes whenever the VM's
	// configuration does, so callers can cache on it.
	CfgFile     string
	OSType      string
	Groups      string
	Description string
	Memory      int // MiB
	CPUs        int
	// SessionName is set while a session holds the VM ("headless", "GUI/Qt").
	SessionName string
	// NICs lists the enabled and disabled adapters in NIC order.
	NICs []NIC
	// Forwards lists the NAT port forwards of every NAT adapter.
	Forwards []Forward
	// CurrentSnapshot and CurrentSnapshotUUID name the current snapshot, if any.
	CurrentSnapshot     string
	CurrentSnapshotUUID string
	// Snapshots is the snapshot tree showvminfo prints, nil when there is none.
	Snapshots *SnapshotTree
	// ExtraData holds the VM's extradata. ParseVMInfo leaves it nil (showvminfo does not print
	// extradata); Driver.Info fills it from `getextradata VM enumerate`.
	ExtraData map[string]string
	// Inaccessible is set when VirtualBox cannot read the VM's settings; only Name and UUID
	// are known then.
	Inaccessible bool
	// Raw holds every entry in output order, duplicates included.
	Raw []KeyValue
}

// NIC is one network adapter slot.
type NIC struct {
	Index int
	// Attachment is "nat", "bridged", "hostonly", "intnet", "natnetwork", "hostonlynetwork",
	// "generic", "null", or "none" for a disabled slot.
	Attachment string
	// LocalhostReachable is a NAT adapter's "localhost reachable" setting (VirtualBox 7.0+,
	// `modifyvm --nat-localhostreachable<N>`): whether the guest reaches the host's loopback
	// through the NAT gateway 10.0.2.2. Nil when showvminfo does not print it (VirtualBox
	// before 7.0, where that path is always open, and adapters that are not NAT).
	LocalhostReachable *bool `json:",omitempty"`
}

// HostLoopbackOpen reports the NAT adapters whose guest reaches the host's loopback by the
// VM's own setting, as printed by VirtualBox 7.0 and later. It is empty before 7.0, where
// nothing is printed (and the path cannot be closed).
func (info *VMInfo) HostLoopbackOpen() []int {
	var open []int
	for _, n := range info.NICs {
		if n.LocalhostReachable != nil && *n.LocalhostReachable {
			open = append(open, n.Index)
		}
	}
	return open
}

// LocalhostSetting is adapter nic's LocalhostReachable as showvminfo prints it: "1", "0", or ""
// when it prints nothing.
func (info *VMInfo) LocalhostSetting(nic int) string {
	for _, n := range info.NICs {
		if n.Index == nic && n.LocalhostReachable != nil {
			if *n.LocalhostReachable {
				return "1"
			}
			return "0"
		}
	}
	return ""
}

// NATAdapters returns the numbers (1-based) of the VM's NAT adapters.
func (info *VMInfo) NATAdapters() []int {
	var nat []int
	for _, n := range info.NICs {
		if n.Attachment == "nat" {
			nat = append(nat, n.Index)
		}
	}
	return nat
}

// parseOnOff reads a boolean setting as showvminfo prints it: "1"/"0" (localhostReachable),
// "on"/"off" or "true"/"false"; ok is false for anything else.
func parseOnOff(v string) (on, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "on", "true":
		return true, true
	case "0", "off", "false":
		return false, true
	}
	return false, false
}

// Forward is one NAT port-forwarding rule.
type Forward struct {
	// NIC is the adapter number (1-based) the rule belongs to.
	NIC       int
	Name      string
	Proto     string // "tcp" or "udp"
	HostIP    string // "" means every host interface
	HostPort  int
	GuestIP   string
	GuestPort int
}

// Rule renders f as the argument of --natpfN and controlvm natpfN.
func (f Forward) Rule() string {
	return fmt.Sprintf("%s,%s,%s,%d,%s,%d", f.Name, f.Proto, f.HostIP, f.HostPort, f.GuestIP, f.GuestPort)
}

var nicKey = regexp.MustCompile(`^nic(\d+)$`)

// ParseVMInfo parses `showvminfo VM --machinereadable`. It accepts every version's format
// (see parse_mr.go). Output without a name or UUID entry, such as the human format, is
// ErrUnexpectedOutput.
func ParseVMInfo(out []byte) (*VMInfo, error) {
	kvs := parseMachineReadable(out)
	info := &VMInfo{Raw: kvs}
	var haveID bool
	nic := 0
	for _, kv := range kvs {
		switch kv.Key {
		case "name":
			info.Name, haveID = kv.Value, true
		case "UUID":
			info.UUID, haveID = strings.ToLower(kv.Value), true
		case "VMState":
			info.State = kv.Value
		case "VMStateChangeTime":
			info.StateChangeTime = kv.Value
		case "CfgFile":
			info.CfgFile = kv.Value
		case "ostype":
			info.OSType = kv.Value
		case "groups":
			info.Groups = kv.Value
		case "description":
			info.Description = kv.Value
		case "memory":
			info.Memory = atoiOr(kv.Value, 0)
		case "cpus":
			info.CPUs = atoiOr(kv.Value, 0)
		case "SessionName":
			info.SessionName = kv.Value
		case "CurrentSnapshotName":
			info.CurrentSnapshot = kv.Value
		case "CurrentSnapshotUUID":
			info.CurrentSnapshotUUID = strings.ToLower(kv.Value)
		case "localhostReachable":
			// Printed with the NAT settings after the adapter's nicN line (like mtu and
			// Forwarding), so it belongs to the last adapter seen.
			if on, ok := parseOnOff(kv.Value); ok && len(info.NICs) > 0 && info.NICs[len(info.NICs)-1].Index == nic {
				info.NICs[len(info.NICs)-1].LocalhostReachable = &on
			}
		default:
			if !strings.HasPrefix(kv.Key, "nic") && !strings.HasPrefix(kv.Key, "Forwarding(") {
				continue
			}
			if m := nicKey.FindStringSubmatch(kv.Key); m != nil {
				nic = atoiOr(m[1], 0)
				info.NICs = append(info.NICs, NIC{Index: nic, Attachment: kv.Value})
			} else if strings.HasPrefix(kv.Key, "Forwarding(") {
				if f, ok := parseForward(kv.Value); ok {
					f.NIC = nic
					info.Forwards = append(info.Forwards, f)
				}
			}
		}
	}
	if !haveID {
		return nil, fmt.Errorf("parse vm info: no name or UUID entry: %w", ErrUnexpectedOutput)
	}
	info.Inaccessible = info.Name == "<inaccessible>"
	tree, err := snapshotTree(kvs)
	if err != nil {
		return nil, fmt.Errorf("parse vm info: %w", err)
	}
	if tree.Root != nil {
		info.Snapshots = tree
	}
	return info, nil
}

// parseForward splits a Forwarding(i) value into exactly six fields.
func parseForward(v string) (Forward, bool) {
	p := strings.Split(v, ",")
	if len(p) != 6 {
		return Forward{}, false
	}
	hp, err1 := strconv.Atoi(p[3])
	gp, err2 := strconv.Atoi(p[5])
	if err1 != nil || err2 != nil {
		return Forward{}, false
	}
	return Forward{Name: p[0], Proto: p[1], HostIP: p[2], HostPort: hp, GuestIP: p[4], GuestPort: gp}, true
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return n
}

// IsRunning reports whether state is a VM with a live console: running or paused, or one of
// the live snapshot and teleport states.
func IsRunning(state string) bool {
	switch state {
	case "running", "paused", "livesnapshotting", "onlinesnapshotting", "teleporting",
		"teleportingpausedvm", "deletingsnapshotlive", "deletingsnapshotlivepaused":
		return true
	}
	return false
}

// IsStopped reports whether state is a VM without a process that can be started, modified and
// restored: poweroff, aborted, aborted-saved, saved or teleported.
func IsStopped(state string) bool {
	switch state {
	case "poweroff", "aborted", "aborted-saved", "saved", "teleported":
		return true
	}
	return false
}

// IsTransient reports whether state is on its way to another state (starting, stopping,
// saving, restoring, snapshotting, ...): callers wait and look again.
func IsTransient(state string) bool {
	return !IsRunning(state) && !IsStopped(state) && state != "gurumeditation"
}
