// This file counts the jobs this host's reaper took back from dead workers of
// any host (issue 18): fleet_jobs_recovered_total{outcome}.

package metrics

import "github.com/prometheus/client_golang/prometheus"

func newRecovered() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "jobs_recovered_total",
		Help: "Jobs of dead workers (of any host) this host's reaper handed back, by outcome (requeued, poisoned).",
	}, []string{"outcome"})
}

// JobRecovered counts one job taken back from a dead worker: requeued, or
// given up on (poisoned) when it had used its attempts.
func (m *Metrics) JobRecovered(poisoned bool) {
	if m == nil {
		return
	}
	outcome := "requeued"
	if poisoned {
		outcome = "poisoned"
	}
	m.recovered.WithLabelValues(outcome).Inc()
}
