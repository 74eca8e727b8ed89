// Package web serves the fleet dashboard: Fleet, Queues, Failed and Job pages
// built from the shared Redis alone, a Host page when the agent that serves it
// supplies one, and resque-web compatible Retry and Remove on failed jobs.
//
// Hosts come from the lease ZSET <ns>:fleet:leases (member = host, score =
// lease expiry in Unix ms), the states agents publish in <ns>:fleet:hosts and
// Resque's own registry (<ns>:workers, worker:<id>, workers:heartbeat), so
// Ruby Resque workers show up beside agents. Pages are html/template with no
// script except the Job page's live log, so they work with JavaScript off.
//
// Safe by default: reading is open (listen on loopback, the default), but
// anything that changes state needs the token from an auth file (HTTP basic
// auth with the token as password, or a bearer token) and a POST carrying the
// per-server CSRF token; without a token, or in read-only mode, the dashboard
// changes nothing.
package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

// Options are the dashboard's settings beyond the Redis it reads.
type Options struct {
	// Token, when set, lets requests that present it (basic auth password or
	// bearer token) use Retry and Remove. Empty: nothing can be changed.
	Token string
	// ReadOnly refuses every change even with the token.
	ReadOnly bool
	// Host supplies the Host page; nil (agent web) serves none.
	Host HostSource
}

// Server renders the dashboard for one Resque namespace.
type Server struct {
	rdb  redis.UniversalClient
	q    *queue.Client
	ns   string
	csrf string
	opts Options
	now  func() time.Time
}

// New returns a dashboard over rdb for namespace ns (e.g. "resque").
func New(rdb redis.UniversalClient, ns string, opts Options) (*Server, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("web: csrf token: %w", err)
	}
	q, err := queue.New(rdb, queue.Config{Namespace: ns, Host: "web"}, nil)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return &Server{rdb: rdb, q: q, ns: ns, csrf: hex.EncodeToString(b), opts: opts, now: time.Now}, nil
}

func (s *Server) key(parts ...string) string { return s.ns + ":" + strings.Join(parts, ":") }

// Handler returns the dashboard's routes.
func (s *Server) Handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.fleetPage)
	m.HandleFunc("GET /queues", s.queuesPage)
	m.HandleFunc("GET /failed", s.failedPage)
	m.HandleFunc("POST /failed/{idx}/retry", s.failedAction(true))
	m.HandleFunc("POST /failed/{idx}/remove", s.failedAction(false))
	m.HandleFunc("GET /jobs/{id}", s.jobPage)
	m.HandleFunc("GET /jobs/{id}/events", s.jobEvents)
	m.HandleFunc("GET /host", s.hostPage)
	m.HandleFunc("GET /host/plan.json", s.hostPlanJSON)
	m.Handle("GET /assets/", http.FileServerFS(assets))
	return securityHeaders(m)
}

// securityHeaders keeps the pages from being framed or sniffed and allows
// scripts only from the dashboard's own assets: logs and payloads are
// attacker-controlled, so even an escaping bug must not run a script.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// canChange reports whether the dashboard may change state at all.
func (s *Server) canChange() bool { return s.opts.Token != "" && !s.opts.ReadOnly }

// authorize checks a state-changing request: changes enabled, the token
// (basic auth password or bearer), then the CSRF token of the form. It writes
// the refusal and returns false when any is missing.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if !s.canChange() {
		http.Error(w, "web: this dashboard is read-only (start it with an auth file to enable Retry and Remove)", http.StatusForbidden)
		return false
	}
	given := ""
	if _, pw, ok := r.BasicAuth(); ok {
		given = pw
	} else if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		given = tok
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(s.opts.Token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="fleet dashboard", charset="UTF-8"`)
		http.Error(w, "web: the dashboard's token is required to change anything", http.StatusUnauthorized)
		return false
	}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
		http.Error(w, "web: missing or wrong CSRF token", http.StatusForbidden)
		return false
	}
	return true
}

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, "web: render "+name+": "+err.Error(), http.StatusInternalServerError)
	}
}

// age formats how long ago t was, for humans ("3m12s"); zero t is "—".
func age(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + (-d).Round(time.Second).String()
	}
	return d.Round(time.Second).String()
}
