// The Host page, served by `agent run` only: the fleet.hcl in force, the
// last plan with its reasons (the data of `agent plan --json`, also at
// /host/plan.json), and a rejected edit with its diagnostics.

package web

import (
	"context"
	"net/http"
	"time"
)

// HostSource gives the Host page its data; the agent implements it and
// redacts secrets before returning.
type HostSource interface {
	HostView(ctx context.Context) (HostView, error)
}

// HostView is the Host page's data, secrets already hidden.
type HostView struct {
	Host     string
	Files    []HostFile
	LoadedAt time.Time
	// PlanText is the last plan as `agent plan` prints it; PlanJSON as
	// `agent plan --json` prints it (docs/PLAN-JSON.md).
	PlanText string
	PlanJSON []byte
	PlanAt   time.Time
	Rejected *Rejected
}

// HostFile is one file of the fleet.hcl in force.
type HostFile struct {
	Name string
	Text string
}

// Rejected is the edit of fleet.hcl the agent did not apply.
type Rejected struct {
	At            time.Time
	Diagnostics   string
	RestartNeeded []string
}

func (s *Server) hostView(w http.ResponseWriter, r *http.Request) (HostView, bool) {
	if s.opts.Host == nil {
		http.Error(w, "web: the Host page is served by `agent run` (fleet.hcl's web block), not by `agent web`", http.StatusNotFound)
		return HostView{}, false
	}
	v, err := s.opts.Host.HostView(r.Context())
	if err != nil {
		http.Error(w, "web: host: "+err.Error(), http.StatusBadGateway)
		return HostView{}, false
	}
	return v, true
}

func (s *Server) hostPage(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.hostView(w, r); ok {
		s.render(w, "host", map[string]any{"V": v, "Now": s.now(), "HasHost": true})
	}
}

func (s *Server) hostPlanJSON(w http.ResponseWriter, r *http.Request) {
	if v, ok := s.hostView(w, r); ok {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(v.PlanJSON)
	}
}
