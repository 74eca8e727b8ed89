package reconcile

import (
	"testing"

	"github.com/fleet-agent/fleet/spec"
)

// TestNetworkPolicyChangeReplacesWorkersAndKeepsGolden checks that a worker made with another
// network policy than its pool's is replaced with both policies in the reason, that the golden
// stays (no build_golden), and that a worker whose provider recorded no policy counts as the
// default one while a legacy one is replaced.
func TestNetworkPolicyChangeReplacesWorkersAndKeepsGolden(t *testing.T) {
	ruby := poolSpec("ruby", 1, "2.0.0", nil)
	none := ruby
	none.Network = NetworkPolicy(spec.Network{Egress: spec.EgressNone, HostServices: []string{"127.0.0.1:3142"}})
	isolated := ruby
	isolated.Network = NetworkPolicy(spec.Network{Egress: spec.EgressIsolated})
	withNet := func(n string) func(*VM) { return func(v *VM) { v.Network = n } }
	tests := []struct {
		name    string
		pool    PoolSpec
		network string // the observed worker's KeyNetwork
		want    string // replace_worker reason; "" means no action on the worker
	}{
		{"isolated to none with a service", none, "egress=isolated",
			"network policy changed: egress=isolated -> egress=none host_services=127.0.0.1:3142"},
		{"none back to isolated", isolated, none.Network,
			"network policy changed: egress=none host_services=127.0.0.1:3142 -> egress=isolated"},
		{"unrecorded counts as the default", isolated, "", ""},
		{"unchanged", none, none.Network, ""},
		{"legacy network is replaced", isolated, NetworkLegacy,
			"network policy changed: " + NetworkLegacy + " -> egress=isolated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vms := []VM{boxVM("2.0.0"), goldenVM(tt.pool), workerVM(tt.pool, 1, withNet(tt.network))}
			p := Diff(desiredOf("2.0.0", tt.pool), inventory(vms...))
			for _, a := range p.Actions {
				if a.Kind == KindBuildGolden {
					t.Errorf("network change rebuilds the golden: %v", brief(p))
				}
			}
			a := p.Action("replace_worker/ruby-1")
			switch {
			case tt.want == "" && len(p.Actions) != 0:
				t.Fatalf("want no actions, got %v", brief(p))
			case tt.want == "":
			case a == nil:
				t.Fatalf("no replace_worker/ruby-1 in %v", brief(p))
			case a.Reason != tt.want:
				t.Errorf("reason = %q, want %q", a.Reason, tt.want)
			}
		})
	}
}

// TestNetworkPolicyIsCanonical checks that the order of host services does not change the
// policy, so reordering the list replaces nothing.
func TestNetworkPolicyIsCanonical(t *testing.T) {
	a := NetworkPolicy(spec.Network{HostServices: []string{"127.0.0.1:2", "127.0.0.1:1"}})
	b := NetworkPolicy(spec.Network{Egress: spec.EgressIsolated, HostServices: []string{"127.0.0.1:1", "127.0.0.1:2"}})
	if a != b || a != "egress=isolated host_services=127.0.0.1:1,127.0.0.1:2" {
		t.Errorf("policies %q and %q, want both egress=isolated host_services=127.0.0.1:1,127.0.0.1:2", a, b)
	}
}
