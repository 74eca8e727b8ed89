// The host lease on a clean shutdown (issue 18): once the daemon has stopped and unregistered
// its workers, the agent removes its entry from <ns>:fleet:leases, so the other hosts do not
// wait out the lease for anything it may have left behind.
package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/fleet-agent/fleet/queue"
)

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
