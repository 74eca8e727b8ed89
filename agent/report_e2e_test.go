package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/report"
)

// receiver is a CI application in the test process: it keeps every event it is sent and
// checks the credentials of each request.
type receiver struct {
	t      *testing.T
	token  string
	secret string

	mu     sync.Mutex
	events []receivedEvent
	bad    []string // what was wrong with a request
}

type receivedEvent struct {
	Type   string `json:"type"`
	JobID  string `json:"job_id"`
	Seq    int    `json:"seq"`
	Data   string `json:"data"`
	Result string `json:"result"`
	Worker string `json:"worker"`
	VM     string `json:"vm"`
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch {
	case err != nil:
		rc.bad = append(rc.bad, "read body: "+err.Error())
	case r.Header.Get("Authorization") != "Bearer "+rc.token:
		rc.bad = append(rc.bad, "wrong Authorization header")
	case !report.Verify([]byte(rc.secret), body, r.Header.Get(report.SignatureHeader)):
		rc.bad = append(rc.bad, "bad signature on "+string(body))
	default:
		var ev receivedEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			rc.bad = append(rc.bad, "decode "+string(body)+": "+err.Error())
			break
		}
		rc.events = append(rc.events, ev)
	}
	w.WriteHeader(http.StatusNoContent)
}

// of returns the events of job id, in the order they arrived.
func (rc *receiver) of(id string) []receivedEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []receivedEvent
	for _, e := range rc.events {
		if e.JobID == id {
			out = append(out, e)
		}
	}
	return out
}

// TestE2EReportsAJobOverHTTP: with a report block, a passing job reaches the receiver as
// received, started, its log, finished (passed), in order, each request signed and
// authenticated; neither the token, nor the signing secret, nor the URL's query shows in the
// agent's log.
func TestE2EReportsAJobOverHTTP(t *testing.T) {
	const (
		token  = "tok-e2e-NEVER-LOGGED"
		secret = "sig-e2e-NEVER-LOGGED"
		query  = "q-e2e-NEVER-LOGGED"
	)
	rc := &receiver{t: t, token: token, secret: secret}
	srv := httptest.NewServer(rc) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	t.Setenv("FLEET_E2E_REPORT_TOKEN", token)

	h := newHost(t)
	h.writeRaw(h.render(fleetCfg{vms: 1}) + `
report "http" {
  url            = "` + srv.URL + `/hook?key=` + query + `"
  token          = env("FLEET_E2E_REPORT_TOKEN")
  secret         = "` + secret + `"
  batch_interval = "200ms"
  min_backoff    = "50ms"
}
`)
	h.start()
	h.until("ruby-1 serving", func(st *control.Status) bool { return slices.Equal(servingVMs(st), []string{"ruby-1"}) })
	h.submit("report-1")
	h.release("report-1")
	h.waitJob("report-1", queue.StatePassed)

	var evs []receivedEvent
	deadline := time.Now().Add(60 * time.Second)
	for {
		evs = rc.of("report-1")
		if len(evs) > 0 && evs[len(evs)-1].Type == report.TypeFinished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished event within 60s; got %+v", evs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.signal(syscall.SIGTERM)
	if code := h.waitExit(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}

	rc.mu.Lock()
	bad := slices.Clone(rc.bad)
	rc.mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("receiver refused requests: %q", bad)
	}
	var types []string
	var logText strings.Builder
	for i, e := range evs {
		if e.Seq != i+1 {
			t.Errorf("event %d (%s) has seq %d, want %d", i, e.Type, e.Seq, i+1)
		}
		if len(types) == 0 || types[len(types)-1] != e.Type || e.Type != report.TypeLog {
			types = append(types, e.Type)
		}
		logText.WriteString(e.Data)
	}
	want := []string{report.TypeReceived, report.TypeStarted, report.TypeLog, report.TypeFinished}
	if !slices.Equal(types, want) {
		t.Errorf("event types %q, want %q (log pieces folded)", types, want)
	}
	if evs[1].VM != "ruby-1" || evs[1].Worker == "" {
		t.Errorf("started event names vm %q worker %q, want ruby-1 and a worker id", evs[1].VM, evs[1].Worker)
	}
	if got := evs[len(evs)-1].Result; got != string(queue.StatePassed) {
		t.Errorf("finished result %q, want passed", got)
	}
	for _, s := range []string{"done report-1", "result: passed"} {
		if !strings.Contains(logText.String(), s) {
			t.Errorf("reported log lacks %q:\n%s", s, logText.String())
		}
	}

	agentLog, err := os.ReadFile(h.logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{token, secret, query} {
		if strings.Contains(string(agentLog), s) {
			t.Errorf("agent log shows %q", s)
		}
	}
	if code, out := h.cli("validate", "-c", h.fleet); code != 0 || strings.Contains(out, token) || strings.Contains(out, secret) {
		t.Errorf("agent validate: exit %d, output:\n%s", code, out)
	}
}
