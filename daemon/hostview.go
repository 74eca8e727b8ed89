// What the dashboard's Host page shows of the running agent: the fleet.hcl
// in force (its files as they were when accepted, so a rejected edit on disk
// does not pass for the spec in force), the last plan with its reasons, and
// the rejected edit.

package daemon

import (
	"os"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/reconcile"
)

// SourceFile is one file of the spec in force.
type SourceFile struct {
	Name string
	Text []byte // nil when the file could not be read back at accept time
}

// HostView is the Host page's data.
type HostView struct {
	Host     string
	Files    []SourceFile
	LoadedAt time.Time
	Plan     reconcile.Plan
	PlanAt   time.Time // zero before the first pass
	Rejected *control.RejectedEdit
}

// HostView returns the spec in force, the last plan and the rejected edit.
// Callers redact secrets before showing any of it.
func (d *Daemon) HostView() HostView {
	d.mu.Lock()
	defer d.mu.Unlock()
	v := HostView{Host: d.fleet.Host.Name, Files: d.sources, LoadedAt: d.loadedAt,
		Plan: d.lastPlan, PlanAt: d.lastPlanAt}
	if d.rejected != nil {
		r := *d.rejected
		v.Rejected = &r
	}
	return v
}

// readSources reads the files of a fleet just accepted.
func readSources(files []string) []SourceFile {
	out := make([]SourceFile, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			b = nil
		}
		out = append(out, SourceFile{Name: f, Text: b})
	}
	return out
}
