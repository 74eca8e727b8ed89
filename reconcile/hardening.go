package reconcile

// HardeningVersion names the golden hardening steps (golden.HardeningScript and its check).
// It is part of every image's fingerprint (Image.Hardening) unless the pool opts out, so
// changing the steps (a fix, a new rule) rebuilds goldens and rolls workers with the reason in
// the plan. Bump it whenever the script or the check changes.
const HardeningVersion = "harden-2"

// hardeningChange explains a change of Image.Hardening ("" means the pool opted out).
func hardeningChange(old, new string) string {
	switch {
	case old == new:
		return ""
	case old == "":
		return "hardening " + new + " added"
	case new == "":
		return "hardening removed (ssh.allow_password)"
	}
	return "hardening " + old + " -> " + new
}

// KeyRejected, on a golden, says why it failed the check before its snapshot (hardening or its
// verification from the host): it is kept, unused, so the plan says why it is destroyed and
// rebuilt.
const KeyRejected = "fleet/rejected"

// PasswordsAllowed is how the plan and `agent status` mark a pool that opts out of the
// hardening (ssh.allow_password).
const PasswordsAllowed = "ssh passwords allowed (unsafe): golden image not hardened, a build that reaches another worker's SSH port can log in with the box's well-known password"

// PoolWarning is a note on a pool that the plan carries whatever it changes.
type PoolWarning struct {
	Pool    string `json:"pool"`
	Warning string `json:"warning"`
}

// PasswordPools returns the pools of d that opt out of the hardening (ssh.allow_password), in
// declaration order.
func PasswordPools(d Desired) []string {
	var out []string
	for _, p := range d.Pools {
		if p.Spec != nil && p.Spec.SSH.AllowPassword {
			out = append(out, p.Name)
		}
	}
	return out
}

func poolWarnings(d Desired) []PoolWarning {
	var out []PoolWarning
	for _, p := range PasswordPools(d) {
		out = append(out, PoolWarning{Pool: p, Warning: PasswordsAllowed})
	}
	return out
}
