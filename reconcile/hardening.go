package reconcile

// HardeningVersion names the golden hardening steps (golden.HardeningScript and its check).
// It is part of every image's fingerprint (Image.Hardening) unless the pool opts out, so
// changing the steps (a fix, a new rule) rebuilds goldens and rolls workers with the reason in
// the plan. Bump it whenever the script or the check changes.
const HardeningVersion = "harden-1"

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
