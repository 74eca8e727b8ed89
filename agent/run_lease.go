// The host lease on a clean shutdown (issue 18): once the daemon has stopped and unregistered
// its workers, the agent removes its entry from <ns>:fleet:leases, so the other hosts do not
// wait out the lease for anything it may have left behind. And where results wait while Redis
// is unreachable (the queue's outbox).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

// outboxDir is queue.Config.OutboxDir: results of jobs that ended while Redis was unreachable
// wait there, across restarts of the agent, until they are delivered. Each queue (Redis server,
// database and namespace; credentials left out) has its own folder, so that a result kept for
// one Redis is never delivered into another after a queue edit (live or across a restart).
func outboxDir(f *spec.Fleet) string {
	target := f.Queue.Redis
	if u, err := url.Parse(f.Queue.Redis); err == nil {
		target = u.Host + u.Path
	}
	sum := sha256.Sum256([]byte(target + "\x00" + f.Queue.Namespace))
	return filepath.Join(f.Host.StateDir, "outbox", hex.EncodeToString(sum[:8]))
}

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
