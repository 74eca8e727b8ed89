// Package web serves the fleet dashboard: read-only Fleet, Queues and Failed
// pages built from the shared Redis alone, plus resque-web compatible Retry
// and Remove on failed jobs (POST with a per-server CSRF token).
//
// Hosts come from the lease ZSET <ns>:fleet:leases (member = host, score =
// lease expiry in Unix ms) when it exists, else from Resque's
// <ns>:workers:heartbeat. Pages are html/template with no script, so they
// work with JavaScript off.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

// Server renders the dashboard for one Resque namespace.
type Server struct {
	rdb  redis.UniversalClient
	q    *queue.Client
	ns   string
	csrf string
	now  func() time.Time
}

// New returns a dashboard over rdb for namespace ns (e.g. "resque").
func New(rdb redis.UniversalClient, ns string) (*Server, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("web: csrf token: %w", err)
	}
	q, err := queue.New(rdb, queue.Config{Namespace: ns, Host: "web"}, nil)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return &Server{rdb: rdb, q: q, ns: ns, csrf: hex.EncodeToString(b), now: time.Now}, nil
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
	m.Handle("GET /assets/", http.FileServerFS(assets))
	return m
}

// Host is one row of the Fleet page.
type Host struct {
	Name   string
	Source string // "lease" or "heartbeat"
	Seen   time.Time
	Alive  bool
}

// Hosts lists the fleet's hosts, sorted by name.
func (s *Server) Hosts(ctx context.Context) ([]Host, error) {
	now := s.now()
	leases, err := s.rdb.ZRangeWithScores(ctx, s.key("fleet", "leases"), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("web: read %s: %w", s.key("fleet", "leases"), err)
	}
	var hosts []Host
	if len(leases) > 0 {
		for _, z := range leases {
			name, _ := z.Member.(string)
			exp := time.UnixMilli(int64(z.Score))
			hosts = append(hosts, Host{Name: name, Source: "lease", Seen: exp, Alive: exp.After(now)})
		}
	} else {
		beats, err := s.rdb.HGetAll(ctx, s.key("workers", "heartbeat")).Result()
		if err != nil {
			return nil, fmt.Errorf("web: read %s: %w", s.key("workers", "heartbeat"), err)
		}
		latest := map[string]time.Time{}
		for id, v := range beats {
			host, _, _ := strings.Cut(id, ":")
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				continue
			}
			if t.After(latest[host]) {
				latest[host] = t
			}
		}
		for h, t := range latest {
			hosts = append(hosts, Host{Name: h, Source: "heartbeat", Seen: t, Alive: now.Sub(t) < time.Minute})
		}
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Name < hosts[j].Name })
	return hosts, nil
}

// Recovered is one entry of <ns>:fleet:recovered.
type Recovered struct {
	JobID      string `json:"job_id"`
	Queue      string `json:"queue"`
	DeadHost   string `json:"dead_host"`
	DeadWorker string `json:"dead_worker"`
	Attempt    int    `json:"attempt"`
	At         string `json:"at"`
}

func (s *Server) recovered(ctx context.Context) ([]Recovered, error) {
	raw, err := s.rdb.LRange(ctx, s.key("fleet", "recovered"), 0, 49).Result()
	if err != nil {
		return nil, fmt.Errorf("web: read %s: %w", s.key("fleet", "recovered"), err)
	}
	var out []Recovered
	for _, r := range raw {
		var v Recovered
		if json.Unmarshal([]byte(r), &v) == nil {
			out = append(out, v)
		}
	}
	return out, nil
}

func (s *Server) fleetPage(w http.ResponseWriter, r *http.Request) {
	hosts, err := s.Hosts(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	rec, err := s.recovered(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	s.render(w, "fleet", map[string]any{"Hosts": hosts, "Recovered": rec})
}

// Queue is one row of the Queues page.
type Queue struct {
	Name string
	Len  int64
}

func (s *Server) queuesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	names, err := s.rdb.SMembers(ctx, s.key("queues")).Result()
	if err != nil {
		http.Error(w, "web: read queues: "+err.Error(), http.StatusBadGateway)
		return
	}
	sort.Strings(names)
	var qs []Queue
	for _, n := range names {
		l, err := s.rdb.LLen(ctx, s.key("queue", n)).Result()
		if err != nil {
			http.Error(w, "web: queue length: "+err.Error(), http.StatusBadGateway)
			return
		}
		qs = append(qs, Queue{Name: n, Len: l})
	}
	s.render(w, "queues", map[string]any{"Queues": qs})
}

// Failed is one row of the Failed page; Args are not shown (they may hold
// secrets), only the job class.
type Failed struct {
	Index     int
	JobID     string
	Class     string
	Queue     string
	Worker    string
	Exception string
	Error     string
	FailedAt  string
	RetriedAt string
}

func (s *Server) failedPage(w http.ResponseWriter, r *http.Request) {
	raw, err := s.rdb.LRange(r.Context(), s.key("failed"), 0, 99).Result()
	if err != nil {
		http.Error(w, "web: read failed: "+err.Error(), http.StatusBadGateway)
		return
	}
	var rows []Failed
	for i, item := range raw {
		var f struct {
			FailedAt  string          `json:"failed_at"`
			Payload   json.RawMessage `json:"payload"`
			Exception string          `json:"exception"`
			Error     string          `json:"error"`
			Worker    string          `json:"worker"`
			Queue     string          `json:"queue"`
			RetriedAt string          `json:"retried_at"`
		}
		if json.Unmarshal([]byte(item), &f) != nil {
			rows = append(rows, Failed{Index: i, Error: "unreadable failure record"})
			continue
		}
		var p struct{ Class string }
		_ = json.Unmarshal(f.Payload, &p)
		rows = append(rows, Failed{Index: i, JobID: payloadID(f.Payload), Class: p.Class, Queue: f.Queue, Worker: f.Worker,
			Exception: f.Exception, Error: f.Error, FailedAt: f.FailedAt, RetriedAt: f.RetriedAt})
	}
	s.render(w, "failed", map[string]any{"Failed": rows, "CSRF": s.csrf})
}

// failedAction is resque-web's Retry (LSET with retried_at, then
// SADD queues + RPUSH queue:<q> of the payload) or Remove (LSET idx "" then
// LREM failed 1 "").
func (s *Server) failedAction(retry bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
			http.Error(w, "web: missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		idx, err := strconv.ParseInt(r.PathValue("idx"), 10, 64)
		if err != nil || idx < 0 {
			http.Error(w, "web: bad failed-job index", http.StatusBadRequest)
			return
		}
		ctx := r.Context()
		if err := s.applyFailed(ctx, idx, retry); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		http.Redirect(w, r, "/failed", http.StatusSeeOther)
	}
}

func (s *Server) applyFailed(ctx context.Context, idx int64, retry bool) error {
	fk := s.key("failed")
	item, err := s.rdb.LIndex(ctx, fk, idx).Result()
	if err != nil {
		return fmt.Errorf("web: failed job %d: %w", idx, err)
	}
	if !retry {
		if err := s.rdb.LSet(ctx, fk, idx, "").Err(); err != nil {
			return fmt.Errorf("web: remove failed job %d: %w", idx, err)
		}
		return s.rdb.LRem(ctx, fk, 1, "").Err()
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal([]byte(item), &f); err != nil {
		return fmt.Errorf("web: failed job %d: %w", idx, err)
	}
	var q string
	if err := json.Unmarshal(f["queue"], &q); err != nil || q == "" {
		return fmt.Errorf("web: failed job %d has no queue", idx)
	}
	at, _ := json.Marshal(s.now().UTC().Format("2006/01/02 15:04:05 UTC"))
	f["retried_at"] = at
	upd, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("web: failed job %d: %w", idx, err)
	}
	p := s.rdb.TxPipeline()
	p.LSet(ctx, fk, idx, string(upd))
	p.SAdd(ctx, s.key("queues"), q)
	p.RPush(ctx, s.key("queue", q), string(f["payload"]))
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("web: retry failed job %d: %w", idx, err)
	}
	return nil
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fleet</title><style>body{font-family:sans-serif;margin:1em;max-width:60em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.3em;text-align:left}
.dead{color:#b00}pre{background:#111;color:#ddd;padding:.5em;overflow-x:auto;white-space:pre-wrap}
.ab{font-weight:bold}.a30,.a90{color:#888}.a31,.a91{color:#f55}.a32,.a92{color:#5d5}.a33,.a93{color:#ed5}
.a34,.a94{color:#68f}.a35,.a95{color:#d6d}.a36,.a96{color:#5dd}.a37,.a97{color:#fff}
.a41,.a101{background:#700}.a42,.a102{background:#060}.a43,.a103{background:#660}.a44,.a104{background:#004}</style></head><body>
<nav><a href="/">Fleet</a> · <a href="/queues">Queues</a> · <a href="/failed">Failed</a></nav>{{end}}
{{define "fleet"}}{{template "head"}}<h1>Fleet</h1>
<table><tr><th>Host</th><th>State</th><th>Source</th><th>Seen / lease until</th></tr>
{{range .Hosts}}<tr><td>{{.Name}}</td><td{{if not .Alive}} class="dead"{{end}}>{{if .Alive}}alive{{else}}dead{{end}}</td><td>{{.Source}}</td><td>{{.Seen.UTC.Format "2006-01-02 15:04:05"}}</td></tr>{{end}}</table>
{{if .Recovered}}<h2>Recovered jobs</h2><table><tr><th>Job</th><th>Queue</th><th>Dead host</th><th>Attempt</th><th>At</th></tr>
{{range .Recovered}}<tr><td><a href="/jobs/{{.JobID}}">{{.JobID}}</a></td><td>{{.Queue}}</td><td>{{.DeadHost}}</td><td>{{.Attempt}}</td><td>{{.At}}</td></tr>{{end}}</table>{{end}}
</body></html>{{end}}
{{define "queues"}}{{template "head"}}<h1>Queues</h1>
<table><tr><th>Queue</th><th>Pending</th></tr>{{range .Queues}}<tr><td>{{.Name}}</td><td>{{.Len}}</td></tr>{{end}}</table></body></html>{{end}}
{{define "failed"}}{{template "head"}}<h1>Failed</h1>{{$csrf := .CSRF}}
<table><tr><th>Class</th><th>Queue</th><th>Error</th><th>Failed at</th><th></th></tr>
{{range .Failed}}<tr><td>{{if .JobID}}<a href="/jobs/{{.JobID}}">{{.Class}}</a>{{else}}{{.Class}}{{end}}</td><td>{{.Queue}}</td><td>{{.Exception}}: {{.Error}}</td><td>{{.FailedAt}}{{if .RetriedAt}} <span class="retried">(retried {{.RetriedAt}})</span>{{end}}</td>
<td><form method="post" action="/failed/{{.Index}}/retry"><input type="hidden" name="csrf" value="{{$csrf}}"><button>Retry</button></form>
<form method="post" action="/failed/{{.Index}}/remove"><input type="hidden" name="csrf" value="{{$csrf}}"><button>Remove</button></form></td></tr>{{end}}</table></body></html>{{end}}
{{define "job"}}{{template "head"}}<h1>Job {{.ID}}</h1>
<table><tr><th>State</th><td id="state">{{.State}}</td></tr>
<tr><th>Queue</th><td>{{.Queue}}</td></tr><tr><th>Attempt</th><td>{{.Attempt}}</td></tr>
<tr><th>Host / VM</th><td>{{.Host}}{{if .Worker}} ({{.Worker}}){{end}}</td></tr>
{{if not .SubmittedAt.IsZero}}<tr><th>Submitted</th><td>{{.SubmittedAt.UTC.Format "2006-01-02 15:04:05"}}</td></tr>{{end}}
{{if not .StartedAt.IsZero}}<tr><th>Started</th><td>{{.StartedAt.UTC.Format "2006-01-02 15:04:05"}}</td></tr>{{end}}
{{if not .FinishedAt.IsZero}}<tr><th>Finished</th><td>{{.FinishedAt.UTC.Format "2006-01-02 15:04:05"}}</td></tr>{{end}}
{{if .Duration}}<tr><th>Duration</th><td>{{.Duration}}</td></tr>{{end}}
{{if .State.Terminal}}<tr><th>Result</th><td>exit {{.ExitCode}}{{if .Error}}: {{.Error}}{{end}}</td></tr>{{end}}</table>
{{if .Payload}}<h2>Payload</h2><pre>{{.Payload}}</pre>{{end}}
<h2>Log</h2><pre id="log"{{if .Live}} data-events="/jobs/{{.ID}}/events"{{end}}>{{.Log}}</pre>
{{if .Live}}<script src="/assets/job.js"></script>{{end}}
</body></html>{{end}}
`))

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, "web: render "+name+": "+err.Error(), http.StatusInternalServerError)
	}
}
