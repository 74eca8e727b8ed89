// Reload classes: for every fleet.hcl setting, whether a running agent can take an edit of it
// live, only after a restart, or by replacing VMs. Classify is a pure function over two specs;
// the table below is the one place a new field is classified (one line), and a reflection test
// fails for any field of Fleet that is not in it.
package spec

import (
	"reflect"
	"sort"
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
	"Host.Name":               ReloadRestart,
	"Host.StateDir":           ReloadRestart,
	"VirtualBox.Manage":       ReloadRestart,
	"VirtualBox.MaxParallel":  ReloadRestart,
	"VirtualBox.SSHPortRange": ReloadRestart,
	"VirtualBox.CallTimeout":  ReloadRestart,
	"QEMU.Binary":             ReloadRestart,
	"QEMU.Accel":              ReloadRestart,
	"Queue.Redis":             ReloadRestart,
	"Queue.Namespace":         ReloadRestart,
	"Queue.MaxAttempts":       ReloadRestart,
	"Queue.HostLease":         ReloadRestart,
	"Queue.Heartbeat":         ReloadRestart,
	"Reconcile.Resync":        ReloadRestart,
	"Metrics.Listen":          ReloadRestart,
	"Boxes":                   ReloadReplace,
	"Pools":                   ReloadReplace,
	"Files":                   ReloadLive, // which files were read: informational only
	"Reports":                 ReloadRestart,
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
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
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
