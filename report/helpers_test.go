package report

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// request is one delivery as a receiver saw it.
type request struct {
	header http.Header
	body   []byte
	status int
	event  gotEvent
}

// gotEvent is any event body decoded the way a receiver would.
type gotEvent struct {
	Type       string `json:"type"`
	JobID      string `json:"job_id"`
	RunID      string `json:"run_id"`
	Seq        int64  `json:"seq"`
	Time       string `json:"time"`
	Dropped    int    `json:"dropped"`
	Queue      string `json:"queue"`
	Attempt    int    `json:"attempt"`
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
	Branch     string `json:"branch"`
	Worker     string `json:"worker"`
	Host       string `json:"host"`
	VM         string `json:"vm"`
	Image      string `json:"image"`
	Offset     int64  `json:"offset"`
	Size       int    `json:"size"`
	Encoding   string `json:"encoding"`
	Data       string `json:"data"`
	Result     string `json:"result"`
	ExitCode   int    `json:"exit_code"`
	Error      string `json:"error"`
	LogBytes   int64  `json:"log_bytes"`
	Reason     string `json:"reason"`
	Durations  struct {
		QueuedMS int64 `json:"queued_ms"`
		RunMS    int64 `json:"run_ms"`
		TotalMS  int64 `json:"total_ms"`
	} `json:"durations"`
}

// receiver is an httptest server that records every request. answer picks
// the status of the n-th request (0-based); nil answers 200. block, when
// not nil, holds every request until it is closed or the client gives up.
type receiver struct {
	srv    *httptest.Server
	answer func(n int) int
	block  chan struct{}

	mu      sync.Mutex
	all     []request
	changed chan struct{} // closed and replaced on every request
	entered int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	return newBlockingReceiver(t, answer, nil)
}

func newBlockingReceiver(t *testing.T, answer func(n int) int, block chan struct{}) *receiver {
	t.Helper()
	rc := &receiver{answer: answer, block: block, changed: make(chan struct{})}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.entered++
	n := len(rc.all)
	rc.mu.Unlock()
	rc.notify()
	if rc.block != nil {
		select {
		case <-rc.block:
		case <-req.Context().Done():
			return
		}
	}
	status := http.StatusOK
	if rc.answer != nil {
		status = rc.answer(n)
	}
	var ev gotEvent
	_ = json.Unmarshal(body, &ev)
	rc.mu.Lock()
	rc.all = append(rc.all, request{header: req.Header.Clone(), body: body, status: status, event: ev})
	rc.mu.Unlock()
	rc.notify()
	w.WriteHeader(status)
}

func (rc *receiver) notify() {
	rc.mu.Lock()
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()
}

// waitFor waits until cond (called under the receiver's lock) holds.
func (rc *receiver) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		rc.mu.Lock()
		ok := cond()
		ch := rc.changed
		rc.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("receiver: gave up waiting for %s (%d requests)", what, rc.count())
		}
	}
}

// accepted returns the events the receiver answered 2xx, in arrival order.
func (rc *receiver) accepted() []gotEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []gotEvent
	for _, r := range rc.all {
		if r.status/100 == 2 {
			out = append(out, r.event)
		}
	}
	return out
}

// waitAccepted waits for n accepted events and returns them.
func (rc *receiver) waitAccepted(t *testing.T, n int) []gotEvent {
	t.Helper()
	rc.waitFor(t, "accepted events", func() bool {
		c := 0
		for _, r := range rc.all {
			if r.status/100 == 2 {
				c++
			}
		}
		return c >= n
	})
	return rc.accepted()
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.all...)
}

// fastConfig is a Config for tests: short backoff, the receiver's URL.
func fastConfig(url string) Config {
	return Config{
		Name: "test", URL: url, Token: "tok",
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		BatchInterval: time.Hour,
	}
}

// startReporter builds a reporter and runs it until the test ends; the
// cleanup closes it first so that a test may also close it itself.
func startReporter(t *testing.T, cfg Config, log *slog.Logger) *Reporter {
	t.Helper()
	r, err := New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runReporter(t, r)
	return r
}

func runReporter(t *testing.T, r *Reporter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		_ = r.Close(cctx)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.all)
}
