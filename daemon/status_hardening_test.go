package daemon

import (
	"slices"
	"testing"

	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
)

// TestStatusShowsRejectedGoldenAndPasswordPools: the status model carries why a golden image
// failed its hardening check (its state "rejected") and the pools that opt out of the
// hardening (ssh.allow_password), for `agent status` to show.
func TestStatusShowsRejectedGoldenAndPasswordPools(t *testing.T) {
	fleet := &spec.Fleet{Host: spec.Host{Name: "build-01"}, Boxes: []*spec.Box{{Name: "lucid32", Version: "1"}},
		Pools: []*spec.Pool{
			{Name: "ruby", Box: "lucid32", VMs: 1},
			{Name: "legacy", Box: "lucid32", VMs: 1, SSH: spec.PoolSSH{AllowPassword: true}},
		}}
	const why = "golden image not hardened: check password login to root@127.0.0.1:2222: password login accepted"
	d := &Daemon{fleet: fleet, desired: reconcile.NewDesired(fleet, nil), backoff: newBackoff(0, 0),
		inv: reconcile.Inventory{VMs: []reconcile.VM{
			{ID: "g1", Name: "fleet-golden-ruby-1", Role: reconcile.RoleGolden, Pool: "ruby", Phase: reconcile.PhaseReady,
				Power: reconcile.PowerStopped, Rejected: why},
			{ID: "g2", Name: "fleet-golden-legacy-2", Role: reconcile.RoleGolden, Pool: "legacy", Phase: reconcile.PhaseReady,
				Power: reconcile.PowerStopped},
		}}}
	st := d.Status()
	if !slices.Equal(st.PasswordPools, []string{"legacy"}) {
		t.Errorf("PasswordPools = %v, want [legacy]", st.PasswordPools)
	}
	cases := []struct{ vm, state, rejected string }{
		{"fleet-golden-ruby-1", "rejected", why},
		{"fleet-golden-legacy-2", "stopped", ""},
	}
	for _, c := range cases {
		v := vmByName(st, c.vm)
		if v.State != c.state || v.Rejected != c.rejected {
			t.Errorf("%s: state %q rejected %q, want %q %q", c.vm, v.State, v.Rejected, c.state, c.rejected)
		}
	}
}
