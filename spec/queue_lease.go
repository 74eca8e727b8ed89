// This file decodes the queue block's host lease: how long a host's claim on
// its running jobs lasts in Redis, and how often it is renewed. The rule that
// a lease spans at least three heartbeats keeps one slow or lost heartbeat
// from handing a live host's jobs to another host.

package spec

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Host lease defaults: a dead host's jobs are requeued within about 30 s.
const (
	defaultHostLease = 30 * time.Second
	defaultHeartbeat = 10 * time.Second
	// minHeartbeatsPerLease is how many heartbeats a lease must span.
	minHeartbeatsPerLease = 3
)

func (d *decoder) queueLease(n *node, q *Queue) {
	q.HostLease = d.duration(n, "host_lease", defaultHostLease)
	q.Heartbeat = d.duration(n, "heartbeat", defaultHeartbeat)
	rng := func(name string) (hcl.Range, bool) {
		if n == nil || n.attrs[name] == nil {
			return hcl.Range{}, false
		}
		return n.attrs[name].Expr.Range(), true
	}
	if r, ok := rng("heartbeat"); ok && q.Heartbeat < time.Second {
		d.errorf(r, "Invalid heartbeat", "heartbeat %s is shorter than 1s; Resque heartbeats are whole seconds.", q.Heartbeat)
		return
	}
	if r, ok := rng("host_lease"); ok && q.HostLease < time.Second {
		d.errorf(r, "Invalid host_lease", "host_lease %s is shorter than 1s.", q.HostLease)
		return
	}
	if q.HostLease < minHeartbeatsPerLease*q.Heartbeat {
		r, ok := rng("host_lease")
		if !ok {
			r, _ = rng("heartbeat")
		}
		d.errorf(r, "Host lease too short",
			"host_lease %s spans fewer than %d heartbeats of %s; one late heartbeat would hand this host's jobs to another host. Make host_lease at least %s.",
			q.HostLease, minHeartbeatsPerLease, q.Heartbeat, minHeartbeatsPerLease*q.Heartbeat)
	}
}
