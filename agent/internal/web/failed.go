// The Failed page: Resque's failed list (ours and any Resque client's) with
// resque-web's Retry and Remove on the same keys.

package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

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
	s.render(w, "failed", map[string]any{"Failed": rows, "CSRF": s.csrf, "CanChange": s.canChange(), "HasHost": s.opts.Host != nil})
}

// failedAction is resque-web's Retry (LSET with retried_at, then
// SADD queues + RPUSH queue:<q> of the payload) or Remove (LSET idx "" then
// LREM failed 1 "").
func (s *Server) failedAction(retry bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorize(w, r) {
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
