// A pool's network policy as part of a worker's fingerprint: the provider records the policy a
// worker was made with (KeyNetwork), and a worker whose policy differs from its pool's is
// stale and replaced, with both policies in the plan's reason. The golden image does not depend
// on it: goldens are kept.

package reconcile

import (
	"slices"
	"strings"

	"github.com/fleet-agent/fleet/spec"
)

// KeyNetwork is a worker's network policy (NetworkPolicy of its pool when it was made).
const KeyNetwork = "fleet/network"

// NetworkLegacy is what a provider reports for a worker made before network policies were
// recorded, when such a worker's network is known to be open to the host (QEMU's user network
// mapped 10.0.2.2 to the host's loopback): it never matches a pool, so the worker is replaced.
const NetworkLegacy = "legacy (host loopback reachable)"

// NetworkPolicy is the canonical text of a pool's network block: "egress=isolated" or
// "egress=none", then " host_services=" and the sorted services when there are any.
func NetworkPolicy(n spec.Network) string {
	egress := n.Egress
	if egress == "" {
		egress = spec.EgressIsolated
	}
	s := "egress=" + egress
	if len(n.HostServices) > 0 {
		hs := slices.Clone(n.HostServices)
		slices.Sort(hs)
		s += " host_services=" + strings.Join(hs, ",")
	}
	return s
}

// defaultNetwork is the policy of a pool without a network block.
var defaultNetwork = NetworkPolicy(spec.Network{})

// observedNetwork is vm's policy; a worker whose provider records none (made before policies
// were recorded, on a provider whose network was already closed to the host) has the default.
func observedNetwork(vm *VM) string {
	if vm.Network == "" {
		return defaultNetwork
	}
	return vm.Network
}

// desiredNetwork is pool's policy, the default when the pool was built without one.
func desiredNetwork(pool *PoolSpec) string {
	if pool.Network == "" {
		return defaultNetwork
	}
	return pool.Network
}
