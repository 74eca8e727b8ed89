// What `agent run` gives the dashboard: the host state it publishes in Redis
// for every dashboard of the fleet (the Fleet page's worker VMs), and the Host
// page it serves itself (the fleet.hcl in force, the last plan, a rejected
// edit), secrets hidden.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/fleet-agent/fleet/agent/internal/web"
	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/daemon"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
)

// Publishing cadence: a change is published at most once per
// publishMinGap; an unchanged state is refreshed every publishRefresh so its
// age tells a reader the host still speaks.
const (
	publishMinGap  = time.Second
	publishRefresh = 10 * time.Second
)

// hostStatePublisher is what publishHostState writes to (queue.Client).
type hostStatePublisher interface {
	PutHostState(ctx context.Context, state []byte) error
	DeleteHostState(ctx context.Context) error
}

// statusSource is the daemon as the publisher sees it.
type statusSource interface {
	Status() control.Status
	Changed() <-chan struct{}
}

// publishHostState publishes src's state until ctx ends, then removes it.
func publishHostState(ctx context.Context, pub hostStatePublisher, src statusSource, log *slog.Logger) {
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := pub.DeleteHostState(dctx); err != nil {
			log.Debug("host_state_remove_failed", "err", err)
		}
	}()
	refresh := time.NewTicker(publishRefresh)
	defer refresh.Stop()
	failing := false
	for {
		changed := src.Changed()
		b, err := json.Marshal(hostState(src.Status(), time.Now()))
		if err == nil {
			err = pub.PutHostState(ctx, b)
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Warn("host_state_publish_failed", "err", err, "note", "dashboards show this host's last published state until Redis answers again")
			failing = true
		case err == nil && failing:
			log.Info("host_state_published_again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-refresh.C:
		}
		select { // fold a burst of changes into one publication
		case <-ctx.Done():
			return
		case <-time.After(publishMinGap):
		}
	}
}

// hostState maps the daemon's status to the dashboard's vocabulary:
// converging (being created), ready (idle worker), running (a job),
// rebuilding (being replaced), cordoned (handed over), drained, broken.
func hostState(st control.Status, now time.Time) web.HostState {
	hs := web.HostState{Host: st.Host, At: now, Draining: st.Draining}
	for _, v := range st.VMs {
		vs := web.VMState{Name: v.Name, Pool: v.Pool, Role: v.Role, Why: v.Why, Worker: v.Worker, Drained: v.Drained}
		switch v.State {
		case "busy":
			vs.State = "running"
		case "idle":
			vs.State = "ready"
		case "creating":
			vs.State = "converging"
		case "handover":
			vs.State = "cordoned"
			if slices.Contains(st.Replacing, v.Name) {
				vs.State = "rebuilding"
			}
		default:
			vs.State = v.State
		}
		if j := v.Job; j != nil {
			vs.Job = &web.JobRef{ID: j.ID, Queue: j.Queue, Attempt: j.Attempt, Since: j.Since}
		}
		hs.VMs = append(hs.VMs, vs)
	}
	return hs
}

// daemonHost is the Host page of a running agent.
type daemonHost struct {
	d interface{ HostView() daemon.HostView }

	mu     sync.Mutex
	cached web.HostView // the rendering of the last plan seen, by planAt
	planAt time.Time
}

// HostView implements web.HostSource: everything shown passes spec.RedactText.
func (h *daemonHost) HostView(context.Context) (web.HostView, error) {
	v := h.d.HostView()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.planAt.IsZero() || !v.PlanAt.Equal(h.planAt) {
		var text bytes.Buffer
		if err := reconcile.Render(&text, v.Plan, reconcile.RenderOptions{}); err != nil {
			return web.HostView{}, fmt.Errorf("render plan: %w", err)
		}
		js, err := json.MarshalIndent(v.Plan, "", "  ")
		if err != nil {
			return web.HostView{}, fmt.Errorf("plan json: %w", err)
		}
		h.cached.PlanText = spec.RedactText(text.String())
		h.cached.PlanJSON = []byte(spec.RedactText(string(js)) + "\n")
		h.planAt = v.PlanAt
	}
	out := h.cached
	out.Host, out.LoadedAt, out.PlanAt = v.Host, v.LoadedAt, v.PlanAt
	out.Files = nil
	for _, f := range v.Files {
		text := "(could not be read back when it was loaded)"
		if f.Text != nil {
			text = spec.RedactText(string(f.Text))
		}
		out.Files = append(out.Files, web.HostFile{Name: f.Name, Text: text})
	}
	if r := v.Rejected; r != nil {
		out.Rejected = &web.Rejected{At: r.At, Diagnostics: spec.RedactText(r.Diagnostics), RestartNeeded: r.RestartNeeded}
	}
	return out, nil
}
