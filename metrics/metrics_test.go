package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scrape serves m on a free port and returns one scrape's text.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wait, addr, err := m.Serve(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); wait() }()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestRecordedValuesAreExposed(t *testing.T) {
	m := New()
	m.SetVMs(map[VMKey]int{{"ruby", "worker", "running"}: 3, {"ruby", "golden", "stopped"}: 1})
	m.SetVMs(map[VMKey]int{{"ruby", "worker", "running"}: 2}) // the golden is gone
	m.JobStarted("ruby", 1500*time.Millisecond)
	m.JobStarted("ruby", 0)
	m.JobFinished("ruby", "passed", 90*time.Second)
	m.Pass(false)
	m.Pass(true)
	m.Action("create_worker", "done")
	m.SetDraining(true)
	m.JobRecovered(false)
	m.JobRecovered(false)
	m.JobRecovered(true)
	text := scrape(t, m)
	cases := []struct {
		name, line string
		present    bool
	}{
		{"vm gauge", `fleet_vms{pool="ruby",role="worker",state="running"} 2`, true},
		{"vanished vm series removed", `role="golden"`, false},
		{"jobs running", `fleet_jobs_running{pool="ruby"} 1`, true},
		{"job results", `fleet_jobs_total{pool="ruby",result="passed"} 1`, true},
		{"job duration", `fleet_job_duration_seconds_sum{pool="ruby"} 90`, true},
		{"pickup latency only when known", `fleet_queue_pickup_seconds_count{pool="ruby"} 1`, true},
		{"passes ok", `fleet_reconcile_passes_total{outcome="ok"} 1`, true},
		{"passes failed", `fleet_reconcile_passes_total{outcome="failed"} 1`, true},
		{"recovered requeued", `fleet_jobs_recovered_total{outcome="requeued"} 2`, true},
		{"recovered poisoned", `fleet_jobs_recovered_total{outcome="poisoned"} 1`, true},
		{"actions", `fleet_reconcile_actions_total{kind="create_worker",outcome="done"} 1`, true},
		{"draining", `fleet_draining 1`, true},
		{"go collector", `go_goroutines`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := strings.Contains(text, c.line); got != c.present {
				t.Errorf("scrape contains %q = %v, want %v\n%s", c.line, got, c.present, text)
			}
		})
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.SetVMs(map[VMKey]int{{"a", "b", "c"}: 1})
	m.JobStarted("p", time.Second)
	m.JobFinished("p", "passed", time.Second)
	m.JobRecovered(true)
	m.Pass(true)
	m.Action("k", "done")
	m.SetDraining(true)
}

func TestServeRefusesABusyAddress(t *testing.T) {
	m := New()
	ctx, cancel := context.WithCancel(context.Background())
	wait, addr, err := m.Serve(ctx, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); wait() }()
	if _, _, err := New().Serve(ctx, addr.String(), slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("second Serve on the same address succeeded")
	}
}
