// This file counts the report events a reporter dropped because its bounded queue was full
// (issue 23): fleet_report_events_dropped_total{receiver, kind}.

package metrics

import "github.com/prometheus/client_golang/prometheus"

func newReportDrops() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "report_events_dropped_total",
		Help: "Report events dropped because a receiver's queue was full, by receiver (URL without credentials or query) and event kind (log, received, started, canceled, finished, requeued).",
	}, []string{"receiver", "kind"})
}

// ReportDropped counts one event of kind that the reporter of receiver dropped.
func (m *Metrics) ReportDropped(receiver, kind string) {
	if m == nil {
		return
	}
	m.reportDrops.WithLabelValues(receiver, kind).Inc()
}
