package main

import (
	"fmt"

	"github.com/fleet-agent/fleet/spec"
)

// checkPasswordPools warns about every pool that opted out of golden hardening
// (ssh { allow_password = true }): its workers keep the box's well-known passwords.
func checkPasswordPools(f *spec.Fleet) []finding {
	var out []finding
	for _, p := range f.Pools {
		if !p.SSH.AllowPassword {
			continue
		}
		out = append(out, finding{sevWarn, "pool " + p.Name + " ssh",
			fmt.Sprintf("allow_password = true (%s): the golden image is not hardened, so a build that reaches another worker's SSH port can log in with the box's well-known password", p.SSH.AllowPasswordRange),
			"remove allow_password from pool " + p.Name + "'s ssh block unless the box cannot work without password logins"})
	}
	return out
}
