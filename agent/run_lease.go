// The host lease on a clean shutdown (issue 18): once the daemon has stopped and unregistered
// its workers, the agent removes its entry from <ns>:fleet:leases, so the other hosts do not
// wait out the lease for anything it may have left behind. And where results wait while Redis
// is unreachable (the queue's outbox).
package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

// outboxDir is queue.Config.OutboxDir: results of jobs that ended while Redis was unreachable
// wait there, across restarts of the agent, until they are delivered.
func outboxDir(f *spec.Fleet) string { return filepath.Join(f.Host.StateDir, "outbox") }

// releaseLease removes this host's lease; a failure is only logged (the lease then ends by
// itself).
func releaseLease(qc *queue.Client, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := qc.ReleaseLease(ctx); err != nil {
		log.Warn("lease_release_failed", "err", err)
		return
	}
	log.Info("lease_released")
}
