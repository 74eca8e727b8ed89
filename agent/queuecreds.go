package main

import (
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

// queueCredentials converts fleet.hcl's queue credentials for the queue
// client (the queue package does not import spec).
func queueCredentials(c spec.QueueCredentials) queue.Credentials {
	return queue.Credentials{Username: c.Username, PasswordFile: c.PasswordFile, PasswordEnv: c.PasswordEnv}
}
