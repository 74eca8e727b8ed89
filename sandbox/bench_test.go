package sandbox

// BenchmarkRollback measures the per-job overhead of both rollback
// strategies under the simulator's realistic latency profile: from the end
// of a job to the VM being verified ready for the next, plus, for
// per-job-snapshot, the snapshot taken before the job. Each iteration runs
// one short job on each of two workers. Repeat with:
//
//	go test ./sandbox -run '^$' -bench BenchmarkRollback -benchtime 3x

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

func BenchmarkRollback(b *testing.B) {
	w := newWorld(b, false)
	strategies := []string{spec.RollbackReadySnapshot, spec.RollbackPerJobSnapshot}
	// Build the workers without delays, then measure with realistic ones.
	for _, st := range strategies {
		w.worker(b, "bench-"+st)
	}
	w.sim.SetProfile(b, "realistic")
	drv := w.driver(b)
	mq := newMemQueue()
	boxes := make([]*Sandbox, len(strategies))
	for i, st := range strategies {
		boxes[i] = w.sandbox(b, NewVBoxVM(drv, "bench-"+st), mq, mq, func(c *Config) { c.Rollback = st })
	}
	ctx := context.Background()
	prepare := make([]time.Duration, len(strategies))
	rollback := make([]time.Duration, len(strategies))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, s := range boxes {
			a := w.args("true")
			a.ID = fmt.Sprintf("bench-%d-%d-%d", time.Now().UnixNano(), i, k)
			out, err := s.Run(ctx, &queue.Job{Args: a, Queue: "bench", Attempt: 1})
			if err != nil || out.Result.State != queue.StatePassed {
				b.Fatalf("%s: %+v, %v\n%s", strategies[k], out, err, mq.log(a.ID))
			}
			prepare[k] += out.Prepare
			rollback[k] += out.Rollback
		}
	}
	b.StopTimer()
	n := float64(b.N)
	overhead := func(k int) float64 { return (prepare[k] + rollback[k]).Seconds() / n }
	b.ReportMetric(overhead(0), "ready-snapshot-s/job")
	b.ReportMetric(rollback[1].Seconds()/n, "per-job-rollback-s/job")
	b.ReportMetric(prepare[1].Seconds()/n, "per-job-snapshot-take-s/job")
	b.ReportMetric(overhead(1), "per-job-snapshot-s/job")
	b.ReportMetric(overhead(1)/overhead(0), "per-job/ready")
}
