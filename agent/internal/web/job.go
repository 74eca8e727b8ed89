package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

//go:embed assets
var assets embed.FS

// JobView is the Job page: the job's record, its payload with secrets
// redacted, and its log so far rendered to HTML.
type JobView struct {
	queue.Status
	Payload  string
	Log      template.HTML
	Duration time.Duration
	Live     bool
	HasHost  bool // the nav links the Host page
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx := r.Context()
	st, err := s.q.JobStatus(ctx, id)
	if errors.Is(err, queue.ErrJobNotFound) {
		http.Error(w, fmt.Sprintf("web: job %s not found", id), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var buf bytes.Buffer
	conv := &ansiHTML{}
	hw := writerFunc(func(p []byte) (int, error) { buf.WriteString(conv.convert(p)); return len(p), nil })
	if _, err := s.q.FollowLog(ctx, id, hw, false); err != nil && !errors.Is(err, queue.ErrJobNotFound) {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	v := JobView{Status: st, Log: template.HTML(buf.String()), Live: !st.State.Terminal(), HasHost: s.opts.Host != nil}
	if !st.StartedAt.IsZero() {
		end := st.FinishedAt
		if end.IsZero() {
			end = s.now()
		}
		v.Duration = end.Sub(st.StartedAt).Round(time.Second)
	}
	v.Payload = s.jobPayload(ctx, st)
	s.render(w, "job", v)
}

// jobEvents streams job id's log as Server-Sent Events: each event's data
// is a chunk of HTML (lines of it, per the SSE format); a final "end" event
// carries the job's terminal state. The stream replays the whole log first,
// so a client clears what it shows when a stream (re)opens.
func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "web: streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	conv := &ansiHTML{}
	sse := writerFunc(func(p []byte) (int, error) {
		if err := writeEvent(w, "", conv.convert(p)); err != nil {
			return 0, err
		}
		fl.Flush()
		return len(p), nil
	})
	if err := writeEvent(w, "reset", ""); err != nil {
		return
	}
	fl.Flush()
	state, err := s.q.FollowLog(r.Context(), id, sse, true)
	if err != nil && r.Context().Err() != nil {
		return // the client went away
	}
	if err != nil {
		_ = writeEvent(w, "failure", err.Error())
	} else {
		_ = writeEvent(w, "end", string(state))
	}
	fl.Flush()
}

// writeEvent writes one SSE event; data may span lines.
func writeEvent(w io.Writer, event, data string) error {
	var b strings.Builder
	if event != "" {
		b.WriteString("event: " + event + "\n")
	}
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: " + strings.TrimSuffix(line, "\r") + "\n")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// jobPayload finds the job's Resque payload (the running worker's record,
// else the failed list) and returns it indented with secrets redacted, or
// "" when it is no longer stored.
func (s *Server) jobPayload(ctx context.Context, st queue.Status) string {
	if st.Worker != "" && !st.State.Terminal() {
		rec, err := s.rdb.Get(ctx, s.key("worker", st.Worker)).Result()
		if err == nil {
			var w struct {
				Payload json.RawMessage `json:"payload"`
			}
			if json.Unmarshal([]byte(rec), &w) == nil && len(w.Payload) > 0 {
				return redactPayload(w.Payload)
			}
		}
	}
	items, err := s.rdb.LRange(ctx, s.key("failed"), -1000, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return ""
	}
	for i := len(items) - 1; i >= 0; i-- {
		var f struct {
			Payload json.RawMessage `json:"payload"`
		}
		if json.Unmarshal([]byte(items[i]), &f) != nil {
			continue
		}
		if payloadID(f.Payload) == st.ID {
			return redactPayload(f.Payload)
		}
	}
	return ""
}

func payloadID(p json.RawMessage) string {
	var v struct {
		Args []struct {
			ID string `json:"id"`
		} `json:"args"`
	}
	if json.Unmarshal(p, &v) != nil || len(v.Args) == 0 {
		return ""
	}
	return v.Args[0].ID
}

// redacted replaces secret values on the Job page.
const redacted = "[redacted]"

// redactPayload indents a Resque payload, replacing every env value
// (NAME=value becomes NAME=[redacted]) and any password in a clone URL.
func redactPayload(p json.RawMessage) string {
	var v map[string]any
	if json.Unmarshal(p, &v) != nil {
		return "(unreadable payload)"
	}
	args, _ := v["args"].([]any)
	for _, a := range args {
		m, ok := a.(map[string]any)
		if !ok {
			continue
		}
		if env, ok := m["env"].([]any); ok {
			for i, e := range env {
				s, _ := e.(string)
				name, _, _ := strings.Cut(s, "=")
				env[i] = name + "=" + redacted
			}
		}
		if repo, ok := m["repository"].(map[string]any); ok {
			if u, ok := repo["url"].(string); ok {
				repo["url"] = redactURL(u)
			}
		}
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "(unreadable payload)"
	}
	return string(out)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redacted)
		return strings.Replace(u.String(), url.QueryEscape(redacted), redacted, 1)
	}
	return raw
}
