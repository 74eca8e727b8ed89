package main

import (
	"testing"

	"github.com/fleet-agent/fleet/spec"
)

// TestOutboxDirIsPerQueue: each Redis server, database and namespace has its own outbox, and
// a password change keeps it (a result kept for one Redis is never delivered into another).
func TestOutboxDirIsPerQueue(t *testing.T) {
	dir := func(redis, ns string) string {
		return outboxDir(&spec.Fleet{Host: spec.Host{StateDir: "/var/lib/fleet"}, Queue: spec.Queue{Redis: redis, Namespace: ns}})
	}
	base := dir("redis://127.0.0.1:6379/0", "resque")
	for _, tc := range []struct {
		name, redis, ns string
		same            bool
	}{
		{"same queue", "redis://127.0.0.1:6379/0", "resque", true},
		{"password changed", "redis://:secret@127.0.0.1:6379/0", "resque", true},
		{"other server", "redis://127.0.0.1:6380/0", "resque", false},
		{"other database", "redis://127.0.0.1:6379/1", "resque", false},
		{"other namespace", "redis://127.0.0.1:6379/0", "ci", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dir(tc.redis, tc.ns); (got == base) != tc.same {
				t.Errorf("outboxDir = %s, base %s: same = %v, want %v", got, base, got == base, tc.same)
			}
		})
	}
}
