// The Queues page: each queue's length, the age of its oldest job and jobs
// finished per minute; the processing lists (jobs held by a worker right
// now) and the jobs recovered from dead hosts.

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// throughputWindow is the span jobs per minute are averaged over.
const throughputWindow = 5 * time.Minute

// Queue is one row of the Queues page.
type Queue struct {
	Name string
	Len  int64
	// Oldest is when the job at the head of the queue was submitted; zero
	// when the queue is empty or its head came from a client that records no
	// time (Resque payloads carry none; agent submit and Sidekiq-style
	// "enqueued_at" do).
	Oldest    time.Time
	PerMinute float64
}

// Held is one job in a worker's processing list.
type Held struct {
	Worker string
	Queue  string
	JobID  string
	Class  string
}

// Queues reads every queue's figures and the processing lists.
func (s *Server) Queues(ctx context.Context) ([]Queue, []Held, error) {
	p := s.rdb.Pipeline()
	namesCmd := p.SMembers(ctx, s.key("queues"))
	slotsCmd := p.SMembers(ctx, s.key("fleet", "slots"))
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return nil, nil, fmt.Errorf("web: read queues: %w", err)
	}
	names := namesCmd.Val()
	sort.Strings(names)
	slots := slotsCmd.Val()
	sort.Strings(slots)

	p = s.rdb.Pipeline()
	lens := make([]*redis.IntCmd, len(names))
	heads := make([]*redis.StringCmd, len(names))
	for i, n := range names {
		lens[i] = p.LLen(ctx, s.key("queue", n))
		heads[i] = p.LIndex(ctx, s.key("queue", n), 0)
	}
	type slotQueue struct{ worker, queue string }
	var sq []slotQueue
	var held []*redis.StringSliceCmd
	for _, id := range slots {
		parts := strings.Split(id, ":")
		for _, q := range strings.Split(parts[len(parts)-1], ",") {
			sq = append(sq, slotQueue{id, q})
			held = append(held, p.LRange(ctx, s.key("fleet", "processing", id, q), 0, -1))
		}
	}
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return nil, nil, fmt.Errorf("web: read queues: %w", err)
	}

	qs := make([]Queue, len(names))
	headIDs := make([]string, len(names))
	for i, n := range names {
		qs[i] = Queue{Name: n, Len: lens[i].Val()}
		if raw := heads[i].Val(); raw != "" {
			id, enq := payloadTime(raw)
			headIDs[i], qs[i].Oldest = id, enq
		}
	}
	// The submit time of heads that carry a job id (agent submit).
	p = s.rdb.Pipeline()
	subs := make([]*redis.StringCmd, len(names))
	for i, id := range headIDs {
		if id != "" && qs[i].Oldest.IsZero() {
			subs[i] = p.HGet(ctx, s.key("fleet", "job", id), "submitted_at")
		}
	}
	if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
		return nil, nil, fmt.Errorf("web: read queue heads: %w", err)
	}
	for i, c := range subs {
		if c != nil {
			if t, err := time.Parse(time.RFC3339Nano, c.Val()); err == nil {
				qs[i].Oldest = t
			}
		}
	}
	rates, err := s.q.Throughput(ctx, names, throughputWindow, s.now())
	if err != nil {
		return nil, nil, fmt.Errorf("web: %w", err)
	}
	for i := range qs {
		qs[i].PerMinute = rates[qs[i].Name]
	}

	var out []Held
	for i, c := range held {
		for _, raw := range c.Val() {
			var pl struct {
				Class string            `json:"class"`
				Args  []json.RawMessage `json:"args"`
			}
			h := Held{Worker: sq[i].worker, Queue: sq[i].queue, JobID: payloadID([]byte(raw))}
			if json.Unmarshal([]byte(raw), &pl) == nil {
				h.Class = pl.Class
			}
			out = append(out, h)
		}
	}
	return qs, out, nil
}

// payloadTime returns a payload's job id (args[0].id) and its enqueue time
// when the payload itself carries one (Sidekiq-style "enqueued_at", Unix
// seconds).
func payloadTime(raw string) (string, time.Time) {
	var pl struct {
		EnqueuedAt float64 `json:"enqueued_at"`
	}
	var t time.Time
	if json.Unmarshal([]byte(raw), &pl) == nil && pl.EnqueuedAt > 0 {
		t = time.UnixMilli(int64(pl.EnqueuedAt * 1000))
	}
	return payloadID([]byte(raw)), t
}

func (s *Server) queuesPage(w http.ResponseWriter, r *http.Request) {
	qs, held, err := s.Queues(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	rec, err := s.recovered(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	s.render(w, "queues", map[string]any{"Queues": qs, "Held": held, "Recovered": rec, "Now": s.now(),
		"Window": throughputWindow, "HasHost": s.opts.Host != nil})
}

func (s *Server) recovered(ctx context.Context) ([]Recovered, error) {
	raw, err := s.rdb.LRange(ctx, s.key("fleet", "recovered"), 0, 49).Result()
	if err != nil {
		return nil, fmt.Errorf("web: read %s: %w", s.key("fleet", "recovered"), err)
	}
	return decodeRecovered(raw), nil
}
