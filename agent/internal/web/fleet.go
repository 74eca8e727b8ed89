// The Fleet page: every host with its lease age and drain state, each worker
// VM with its pool, state and the job it runs since when, and every Resque
// worker no agent accounts for (Ruby Resque, node-resque) with its job.

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

// HostState is what an agent publishes about itself in <ns>:fleet:hosts
// (field = host name, value = this as JSON) every few seconds while it runs.
type HostState struct {
	Host     string    `json:"host"`
	At       time.Time `json:"at"`
	Draining bool      `json:"draining"`
	VMs      []VMState `json:"vms"`
}

// VMState is one VM of a published host state.
type VMState struct {
	Name string `json:"name"`
	Pool string `json:"pool,omitempty"`
	Role string `json:"role"`
	// State is converging, ready, running, rebuilding, cordoned, drained,
	// broken, or the hypervisor's power state for VMs without a worker.
	State   string  `json:"state"`
	Why     string  `json:"why,omitempty"`
	Worker  string  `json:"worker,omitempty"` // the Resque worker id serving the VM
	Drained bool    `json:"drained,omitempty"`
	Job     *JobRef `json:"job,omitempty"`
}

// JobRef is the job a VM runs.
type JobRef struct {
	ID      string    `json:"id"`
	Queue   string    `json:"queue"`
	Attempt int       `json:"attempt"`
	Since   time.Time `json:"since"`
}

// FleetHost is one host of the Fleet page.
type FleetHost struct {
	Name string
	// Source is "lease" (an agent's host lease), "state" (a published state
	// without a lease: the host has gone) or "heartbeat" (Resque only).
	Source string
	// Seen is the lease expiry (lease) or the newest heartbeat (heartbeat).
	Seen     time.Time
	Alive    bool
	Draining bool
	StateAt  time.Time // when the host last published its state; zero if never
	VMs      []VMState
	Workers  []FleetWorker // Resque workers of this host that no VM accounts for
}

// FleetWorker is a registered Resque worker shown on its own row.
type FleetWorker struct {
	ID     string
	Queues string
	Dead   bool
	Job    string // job id, or the class when it has none
	Queue  string
	Since  string
}

// heartbeatDead is the age after which a Resque heartbeat means a dead
// worker (queue's default heartbeat expiry).
const heartbeatDead = time.Minute

// Fleet reads the whole fleet: one pipelined round of reads, and a second
// only for the "working on" records of workers no agent state covers.
func (s *Server) Fleet(ctx context.Context) ([]FleetHost, []Recovered, error) {
	now := s.now()
	p := s.rdb.Pipeline()
	leasesCmd := p.ZRangeWithScores(ctx, s.key("fleet", "leases"), 0, -1)
	statesCmd := p.HGetAll(ctx, s.key("fleet", "hosts"))
	workersCmd := p.SMembers(ctx, s.key("workers"))
	beatsCmd := p.HGetAll(ctx, s.key("workers", "heartbeat"))
	recCmd := p.LRange(ctx, s.key("fleet", "recovered"), 0, 49)
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return nil, nil, fmt.Errorf("web: read the fleet: %w", err)
	}
	hosts := map[string]*FleetHost{}
	get := func(name string) *FleetHost {
		h := hosts[name]
		if h == nil {
			h = &FleetHost{Name: name}
			hosts[name] = h
		}
		return h
	}
	for _, z := range leasesCmd.Val() {
		name, _ := z.Member.(string)
		h := get(name)
		h.Source, h.Seen = "lease", time.UnixMilli(int64(z.Score))
		h.Alive = h.Seen.After(now)
	}
	covered := map[string]bool{}
	for name, raw := range statesCmd.Val() {
		var st HostState
		if json.Unmarshal([]byte(raw), &st) != nil {
			continue
		}
		h := get(name)
		if h.Source == "" {
			// Published but no lease: the host released it (clean exit) or
			// was reaped; an hour on, it is forgotten.
			if now.Sub(st.At) > time.Hour {
				delete(hosts, name)
				continue
			}
			h.Source = "state"
		}
		h.StateAt, h.Draining, h.VMs = st.At, st.Draining, st.VMs
		for _, v := range st.VMs {
			if v.Worker != "" {
				covered[v.Worker] = true
			}
		}
	}
	beats := beatsCmd.Val()
	var loose []string
	for _, id := range workersCmd.Val() {
		if !covered[id] {
			loose = append(loose, id)
		}
	}
	sort.Strings(loose)
	var records []any
	if len(loose) > 0 {
		keys := make([]string, len(loose))
		for i, id := range loose {
			keys[i] = s.key("worker", id)
		}
		var err error
		if records, err = s.rdb.MGet(ctx, keys...).Result(); err != nil {
			return nil, nil, fmt.Errorf("web: read workers: %w", err)
		}
	}
	for i, id := range loose {
		hostName, _, _ := strings.Cut(id, ":")
		h := get(hostName)
		w := FleetWorker{ID: id, Dead: true}
		if parts := strings.Split(id, ":"); len(parts) >= 3 {
			w.Queues = parts[len(parts)-1]
		}
		if t, err := time.Parse(time.RFC3339, beats[id]); err == nil {
			w.Dead = now.Sub(t) > heartbeatDead
			if h.Source == "" || h.Source == "heartbeat" {
				h.Source = "heartbeat"
				if t.After(h.Seen) {
					h.Seen = t
				}
				h.Alive = h.Alive || !w.Dead
			}
		} else if h.Source == "" {
			h.Source = "heartbeat"
		}
		if raw, ok := records[i].(string); ok && raw != "" {
			var rec struct {
				Queue   string `json:"queue"`
				RunAt   string `json:"run_at"`
				Payload struct {
					Class string            `json:"class"`
					Args  []json.RawMessage `json:"args"`
				} `json:"payload"`
			}
			if json.Unmarshal([]byte(raw), &rec) == nil {
				w.Queue, w.Since, w.Job = rec.Queue, rec.RunAt, rec.Payload.Class
				if len(rec.Payload.Args) > 0 {
					var a struct{ ID string }
					if json.Unmarshal(rec.Payload.Args[0], &a) == nil && a.ID != "" {
						w.Job = a.ID
					}
				}
			}
		}
		h.Workers = append(h.Workers, w)
	}
	out := make([]FleetHost, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, decodeRecovered(recCmd.Val()), nil
}

// Recovered is one entry of <ns>:fleet:recovered, as the reaper writes it.
type Recovered = queue.Recovered

func decodeRecovered(raw []string) []Recovered {
	var out []Recovered
	for _, r := range raw {
		var v Recovered
		if json.Unmarshal([]byte(r), &v) == nil {
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) fleetPage(w http.ResponseWriter, r *http.Request) {
	hosts, rec, err := s.Fleet(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	s.render(w, "fleet", map[string]any{"Hosts": hosts, "Recovered": rec, "Now": s.now(), "HasHost": s.opts.Host != nil})
}
