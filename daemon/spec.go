// Live fleet.hcl: reloading on a saved file or SIGHUP, keeping the last good spec when the new
// one does not load, and saying which edit was rejected and why.
package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"

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
// whose cookbooks do not resolve) is logged and recorded as the rejected edit; the last good
// spec stays in force and nothing changes because of it.
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
	if err == nil {
		desired, derr := d.cfg.Engine.Desired(ctx, f)
		if derr != nil {
			err, text = derr, derr.Error()
		} else {
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

// accept puts a newly loaded fleet in force.
func (d *Daemon) accept(f *spec.Fleet, desired reconcile.Desired, hash string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.fleet
	for _, c := range restartOnly(old, f) {
		d.log.Warn("setting_needs_restart", "setting", c)
	}
	// Settings read only at start stay as they were, so status and workers agree with what runs.
	f.Host, f.VirtualBox, f.Queue, f.Metrics, f.Reconcile = old.Host, old.VirtualBox, old.Queue, old.Metrics, old.Reconcile
	f.Reports = old.Reports // the reporters are built once, at start
	changed := hash != d.specHash
	d.fleet, d.desired, d.specHash, d.loadedAt = f, desired, hash, d.now()
	if d.rejected != nil {
		d.log.Info("config_fixed", "path", d.cfg.ConfigPath)
	}
	d.rejected = nil
	d.notifyLocked()
	if changed {
		d.log.Info("config_loaded", "path", d.cfg.ConfigPath, "pools", len(f.Pools))
	}
}

// restartOnly names the settings that differ between a and b but take effect only when the
// agent starts.
func restartOnly(a, b *spec.Fleet) []string {
	var out []string
	for _, c := range []struct {
		name string
		x, y any
	}{
		{"host", a.Host, b.Host},
		{"virtualbox", a.VirtualBox, b.VirtualBox},
		{"queue", a.Queue, b.Queue},
		{"metrics", a.Metrics, b.Metrics},
		{"reconcile", a.Reconcile, b.Reconcile},
		{"report", ReportConfigs(a.Reports), ReportConfigs(b.Reports)},
	} {
		if !reflect.DeepEqual(c.x, c.y) {
			out = append(out, c.name)
		}
	}
	return out
}
