// Reload classes: for every fleet.hcl setting, whether a running agent can take an edit of it
// live, only after a restart, or by replacing VMs. Classify is a pure function over two specs;
// the table below is the one place a new field is classified (one line), and a reflection test
// fails for any field of Fleet that is not in it.
package spec

import (
	"reflect"
	"sort"

	"github.com/hashicorp/hcl/v2"
)

// ReloadClass says how a running agent takes an edit of one setting.
type ReloadClass string

// Reload classes.
const (
	// ReloadLive takes effect in the running agent without a restart.
	ReloadLive ReloadClass = "live"
	// ReloadRestart takes effect only when the agent starts again.
	ReloadRestart ReloadClass = "restart"
	// ReloadReplace is reconciled by the running agent, by replacing or creating VMs.
	ReloadReplace ReloadClass = "replace"
)

// reloadClasses classifies every setting by its Go field path in Fleet (nested struct fields
// joined with dots; slices of blocks are classified as a whole). Adding a field to Fleet or to
// one of its block structs without a line here fails TestReloadClassesCoverEveryField.
var reloadClasses = map[string]ReloadClass{
	"Host.Name":                      ReloadRestart, // the worker ids, leases and VM owner marks carry it
	"Host.StateDir":                  ReloadRestart, // the apply lock, control socket and drain state live there
	"VirtualBox.Manage":              ReloadRestart, // the VBoxManage driver is built once, at start
	"VirtualBox.MaxParallel":         ReloadRestart, // the driver's host-wide mutation slots are sized at start
	"VirtualBox.SSHPortRange":        ReloadRestart, // forwarded ports already allocated to running VMs
	"VirtualBox.CallTimeout":         ReloadRestart, // the driver is built once, at start
	"QEMU.Binary":                    ReloadRestart, // the QEMU provider is built once, at start
	"QEMU.Accel":                     ReloadRestart, // running VMs keep their accelerator
	"Queue.Redis":                    ReloadLive,    // a new queue client; workers move after their job
	"Queue.Namespace":                ReloadLive,
	"Queue.MaxAttempts":              ReloadLive,
	"Queue.HostLease":                ReloadLive,
	"Queue.Heartbeat":                ReloadLive,
	"Queue.Credentials.Username":     ReloadLive,
	"Queue.Credentials.PasswordFile": ReloadLive,
	"Queue.Credentials.PasswordEnv":  ReloadLive,
	"Reconcile.Resync":               ReloadLive, // the loop's ticker is reset
	"Metrics.Listen":                 ReloadLive, // rebound; a bind failure rejects the edit
	"Web.Listen":                     ReloadLive, // rebound; a bind failure rejects the edit
	"Web.AuthFile":                   ReloadLive, // the dashboard is rebuilt with the new token
	"Web.ReadOnly":                   ReloadLive, // the dashboard is rebuilt
	"Boxes":                          ReloadReplace,
	"Pools":                          ReloadReplace,
	"Files":                          ReloadLive, // which files were read: informational only
	"Reports":                        ReloadLive, // unchanged reporters keep their queue; new ones start
}

// ReloadChange is one setting that differs between two specs, with how it is taken.
type ReloadChange struct {
	Field string // Go field path in Fleet, e.g. "Host.StateDir"
	Class ReloadClass
}

// ClassifyReload lists the settings that differ between old and new, sorted by field path.
// It does no I/O and reads nothing but its arguments.
func ClassifyReload(old, new *Fleet) []ReloadChange {
	var out []ReloadChange
	for _, f := range reloadFields() {
		a, b := fieldByPath(reflect.ValueOf(old).Elem(), f), fieldByPath(reflect.ValueOf(new).Elem(), f)
		if !equalSettings(a, b) {
			out = append(out, ReloadChange{Field: f, Class: reloadClasses[f]})
		}
	}
	return out
}

// reloadFields returns the classified field paths, sorted.
func reloadFields() []string {
	out := make([]string, 0, len(reloadClasses))
	for f := range reloadClasses {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// fieldByPath follows a dotted field path from v.
func fieldByPath(v reflect.Value, path string) reflect.Value {
	start := 0
	for i := 0; i <= len(path); i++ {
		if i == len(path) || path[i] == '.' {
			v = v.FieldByName(path[start:i])
			start = i + 1
		}
	}
	return v
}

var rangeType = reflect.TypeFor[hcl.Range]()

// equalSettings is reflect.DeepEqual that ignores source positions (hcl.Range values), so an
// edit that only moves a block (a pool added above a report block) changes nothing.
func equalSettings(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalSettings(a.Elem(), b.Elem())
	case reflect.Struct:
		if a.Type() == rangeType {
			return true
		}
		for i := range a.NumField() {
			if !equalSettings(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalSettings(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() || !equalSettings(a.MapIndex(k), bv) {
				return false
			}
		}
		return true
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.String:
		return a.String() == b.String()
	default: // func, chan, unsafe pointer, complex: by identity
		return a.CanInterface() && b.CanInterface() && reflect.DeepEqual(a.Interface(), b.Interface())
	}
}
