package reconcile

import (
	"fmt"
	"testing"
)

// BenchmarkDiff1000Workers plans 1,000 workers across 10 pools: from an empty host, for a
// converged host (the idle case), and after every pool's recipes changed (1,000 rolling
// replacements).
func BenchmarkDiff1000Workers(b *testing.B) {
	var pools, changed []PoolSpec
	for i := range 10 {
		pools = append(pools, poolSpec(fmt.Sprintf("pool%d", i), 100, "2.0.0", provision("git")))
		changed = append(changed, poolSpec(fmt.Sprintf("pool%d", i), 100, "2.0.0", provision("git", "rvm")))
	}
	converged := inventory(convergedVMs("2.0.0", pools...)...)
	cases := []struct {
		name    string
		desired Desired
		inv     Inventory
		actions int
	}{
		{"empty host", desiredOf("2.0.0", pools...), inventory(), 1 + 10 + 1000},
		{"converged", desiredOf("2.0.0", pools...), converged, 0},
		{"recipes changed", desiredOf("2.0.0", changed...), converged, 10 + 1000 + 10},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if n := len(Diff(c.desired, c.inv).Actions); n != c.actions {
				b.Fatalf("plan has %d actions, want %d", n, c.actions)
			}
			for b.Loop() {
				Diff(c.desired, c.inv)
			}
		})
	}
}
