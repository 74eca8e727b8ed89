// Package secretenv reads secrets given to the agent in environment variables (queue
// { password_env }, $FLEET_REDIS_PASSWORD) and takes them out of the process environment as it
// reads them, so that no child process the agent starts afterwards (VBoxManage, qemu-system,
// passt, qemu-img, ...) inherits them: every exec seam starts from os.Environ() or inherits it.
// The value stays in memory for the readers that come later (a reload of fleet.hcl, a redial
// of the queue).
//
// Every reader of such a variable calls Take, and the agent takes them before it starts any
// child: $FLEET_REDIS_PASSWORD in main, a password_env when fleet.hcl is loaded (every command
// loads it before it runs anything).
package secretenv

import (
	"os"
	"sync"
)

var (
	mu   sync.Mutex
	kept = map[string]string{} // values taken out of the environment, by name
)

// Take returns environment variable name's value and removes the variable from the process
// environment. When the variable is no longer set, it returns the value taken earlier (""
// when there was none); a variable set again (even to "") replaces what was kept.
func Take(name string) string {
	if name == "" {
		return ""
	}
	mu.Lock()
	defer mu.Unlock()
	if v, ok := os.LookupEnv(name); ok {
		os.Unsetenv(name)
		if v == "" {
			delete(kept, name)
		} else {
			kept[name] = v
		}
		return v
	}
	return kept[name]
}
