// This file holds the doctor check that the queue's Redis does not accept
// commands without authentication: every build host, and anything else
// that can reach Redis, could otherwise read job payloads and enqueue work.

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/spec"
)

// checkRedisAuth pings the queue's Redis without credentials. An answer is
// a warning; NOAUTH (or WRONGPASS) is what a protected server says.
func checkRedisAuth(ctx context.Context, f *spec.Fleet) []finding {
	url := redactURL(f.Queue.Redis)
	rdb, err := queue.DialAnonymous(f.Queue.Redis)
	if err != nil {
		return nil // checkRedis already reported the URL
	}
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = rdb.Ping(pctx).Err()
	switch {
	case err == nil:
		return []finding{{sevWarn, "redis auth", url + " accepts commands without authentication; anyone who reaches it can read and enqueue jobs",
			"create an ACL user (ACL SETUSER fleet on >PASSWORD ~* &* +@all; ACL SETUSER default off) and set queue { username, password_file } in fleet.hcl"}}
	case isAuthRefusal(err):
		return []finding{{sev: sevOK, what: "redis auth", detail: url + " refuses unauthenticated commands"}}
	default:
		return []finding{{sevWarn, "redis auth", fmt.Sprintf("%s: cannot tell whether unauthenticated commands are refused: %v", url, err), ""}}
	}
}

func isAuthRefusal(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "NOAUTH") || strings.Contains(msg, "WRONGPASS")
}
