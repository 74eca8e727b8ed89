// Package metrics is the agent's optional Prometheus endpoint (`metrics { listen = ... }`):
// VMs by pool and state, jobs running, job results and durations, reconcile passes, actions
// and their failures, and how long jobs waited in the queue before a worker picked them up.
//
// Metrics owns its own registry (never the global one), so two daemons in one test process do
// not collide, and the Go and process collectors are added to it as any exporter's are.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "fleet"

// Metrics holds the agent's collectors. All methods are safe for concurrent use; a nil
// *Metrics records nothing, so callers need no "metrics enabled" checks.
type Metrics struct {
	reg *prometheus.Registry

	vms         *prometheus.GaugeVec
	jobsRunning *prometheus.GaugeVec
	jobResults  *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
	pickup      *prometheus.HistogramVec
	passes      *prometheus.CounterVec
	actions     *prometheus.CounterVec
	draining    prometheus.Gauge
	recovered   *prometheus.CounterVec
	reportDrops *prometheus.CounterVec
}

// New returns Metrics registered on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		vms: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "vms",
			Help: "Managed VMs by pool, role and state (running, stopped, busy, broken, ...).",
		}, []string{"pool", "role", "state"}),
		jobsRunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "jobs_running", Help: "Jobs running now, by pool.",
		}, []string{"pool"}),
		jobResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "jobs_total",
			Help: "Jobs finished, by pool and result (passed, failed, errored, canceled, requeued).",
		}, []string{"pool", "result"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "job_duration_seconds", Help: "Wall time of finished jobs, rollback included.",
			Buckets: []float64{10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200},
		}, []string{"pool"}),
		pickup: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "queue_pickup_seconds", Help: "Time from submit to a worker fetching the job.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600},
		}, []string{"pool"}),
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "reconcile_passes_total", Help: "Reconcile passes, by outcome (ok, failed).",
		}, []string{"outcome"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "reconcile_actions_total",
			Help: "Plan actions applied, by kind and outcome (done, failed, skipped, retry).",
		}, []string{"kind", "outcome"}),
		draining: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "draining", Help: "1 while the host is drained.",
		}),
		recovered:   newRecovered(),
		reportDrops: newReportDrops(),
	}
	m.reg.MustRegister(m.vms, m.jobsRunning, m.jobResults, m.jobDuration, m.pickup, m.passes, m.actions, m.draining, m.recovered, m.reportDrops,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// VMKey is one series of the VM gauge.
type VMKey struct{ Pool, Role, State string }

// SetVMs replaces the VM gauge with counts: series absent from counts disappear.
func (m *Metrics) SetVMs(counts map[VMKey]int) {
	if m == nil {
		return
	}
	m.vms.Reset()
	for k, n := range counts {
		m.vms.WithLabelValues(k.Pool, k.Role, k.State).Set(float64(n))
	}
}

// JobStarted counts a job fetched by a worker of pool, waitedFor after its submission (zero
// when unknown).
func (m *Metrics) JobStarted(pool string, waited time.Duration) {
	if m == nil {
		return
	}
	m.jobsRunning.WithLabelValues(pool).Inc()
	if waited > 0 {
		m.pickup.WithLabelValues(pool).Observe(waited.Seconds())
	}
}

// JobFinished counts a job of pool that ended with result after took.
func (m *Metrics) JobFinished(pool, result string, took time.Duration) {
	if m == nil {
		return
	}
	m.jobsRunning.WithLabelValues(pool).Dec()
	m.jobResults.WithLabelValues(pool, result).Inc()
	m.jobDuration.WithLabelValues(pool).Observe(took.Seconds())
}

// Pass counts one reconcile pass.
func (m *Metrics) Pass(failed bool) {
	if m == nil {
		return
	}
	outcome := "ok"
	if failed {
		outcome = "failed"
	}
	m.passes.WithLabelValues(outcome).Inc()
}

// Action counts one action event of kind with outcome.
func (m *Metrics) Action(kind, outcome string) {
	if m == nil {
		return
	}
	m.actions.WithLabelValues(kind, outcome).Inc()
}

// SetDraining records the drain state.
func (m *Metrics) SetDraining(on bool) {
	if m == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.draining.Set(v)
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Serve listens on addr and serves /metrics until ctx ends. It returns once the listener is
// bound (an error if it cannot be) and serves from a goroutine that the returned wait
// function waits for.
func (m *Metrics) Serve(ctx context.Context, addr string, log *slog.Logger) (wait func(), bound net.Addr, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics_serve_failed", "addr", addr, "err", err)
		}
	}()
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	return func() {
		<-done
		stop()
	}, ln.Addr(), nil
}
