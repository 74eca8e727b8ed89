// Live fleet.hcl: reloading on a saved file or SIGHUP, keeping the last good spec when the new
// one does not load, and saying which edit was rejected and why.
package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
	"github.com/fleet-agent/fleet/watch"
)

// ErrInvalidSpec is returned by LoadSpec for a fleet.hcl that does not load.
var ErrInvalidSpec = errors.New("invalid fleet.hcl")

// LoadSpec is the default Config.Load: spec.Load, with the diagnostics in HCL's text form
// (file:line:col, summary, detail, source line).
func LoadSpec(path string) (*spec.Fleet, string, error) {
	l := spec.NewLoader()
	f, diags := l.Load(path)
	if !diags.HasErrors() {
		return f, "", nil
	}
	var buf bytes.Buffer
	if err := l.WriteDiagnostics(&buf, diags, 0, false); err != nil {
		buf.WriteString(diags.Error())
	}
	return nil, buf.String(), fmt.Errorf("%s: %w: %s", path, ErrInvalidSpec, diags.Error())
}

// maybeReload reloads fleet.hcl when a reload was requested. A file that does not load (or
// whose cookbooks do not resolve, or whose live settings cannot be taken: applyLive) is logged
// and recorded as the rejected edit; the last good spec stays in force and nothing changes
// because of it.
func (d *Daemon) maybeReload(ctx context.Context) {
	d.mu.Lock()
	if !d.reload {
		d.mu.Unlock()
		return
	}
	d.reload = false
	d.mu.Unlock()

	hash := watch.Fingerprint(d.cfg.ConfigPath)
	f, text, err := d.cfg.Load(d.cfg.ConfigPath)
	if err == nil && d.needsRestart(f) {
		return
	}
	if err == nil {
		desired, derr := d.cfg.Engine.Desired(ctx, f)
		switch {
		case derr != nil:
			err, text = derr, derr.Error()
		default:
			if lerr := d.applyLive(ctx, f); lerr != nil {
				err, text = lerr, liveDiagnostics(lerr, f.Files)
				break
			}
			d.accept(f, desired, hash)
			return
		}
	}
	d.log.Error("config_rejected", "path", d.cfg.ConfigPath, "err", err, "diagnostics", text)
	d.mu.Lock()
	d.rejected = &control.RejectedEdit{At: d.now(), Diagnostics: text}
	d.notifyLocked()
	d.mu.Unlock()
}

// needsRestart rejects an edit that changes a setting the running agent reads only at start
// (spec.ClassifyReload: host, virtualbox, qemu): the running
// spec stays in force, and the edit is recorded, with a located "Restart needed" diagnostic
// per setting, as the pending edit `agent status` shows.
func (d *Daemon) needsRestart(f *spec.Fleet) bool {
	d.mu.Lock()
	old := d.fleet
	d.mu.Unlock()
	if old == nil {
		return false
	}
	pending := spec.RestartChanges(spec.ClassifyReload(old, f))
	if len(pending) == 0 {
		return false
	}
	names := make([]string, len(pending))
	for i, c := range pending {
		names[i] = c.Setting()
	}
	_, text := spec.RestartDiagnostics(pending, f.Files)
	d.log.Error("config_needs_restart", "path", d.cfg.ConfigPath, "settings", names)
	d.mu.Lock()
	d.rejected = &control.RejectedEdit{At: d.now(), Diagnostics: text, RestartNeeded: names}
	d.notifyLocked()
	d.mu.Unlock()
	return true
}

// accept puts a newly loaded fleet in force. needsRestart has made sure that no setting read
// only at start differs from the running spec, and applyLive has taken the live ones.
func (d *Daemon) accept(f *spec.Fleet, desired reconcile.Desired, hash string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	changed := hash != d.specHash
	d.fleet, d.desired, d.specHash, d.loadedAt = f, desired, hash, d.now()
	d.sources = readSources(f.Files)
	if d.rejected != nil {
		d.log.Info("config_fixed", "path", d.cfg.ConfigPath)
	}
	d.rejected = nil
	d.notifyLocked()
	if changed {
		d.log.Info("config_loaded", "path", d.cfg.ConfigPath, "pools", len(f.Pools))
	}
}
