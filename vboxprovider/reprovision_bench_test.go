package vboxprovider

// The reprovision benchmark: what new recipes cost a 5-worker pool when the pool is provisioned
// once and its workers are linked clones of that golden image (the agent's way), against the old
// way, where every worker is provisioned by its own chef-solo run.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
	"github.com/fleet-agent/fleet/vbox/vboxsim"
)

// reprovisionChef is how long one chef-solo run takes in this benchmark: the recipe runs
// `sleep`. Real runs take minutes (ARCHITECTURE.md: 10 min for two Rubies); the ratio between
// the two ways grows with it.
const reprovisionChef = 2 * time.Second

// reprovisionFleet renders a fleet of `pools` pools of `vms` workers each, provisioned with the
// run list toolchain (+ git when changed). Five one-worker pools stand for five separately
// provisioned workers: each has its own golden image, so each worker costs one chef-solo run.
func reprovisionFleet(e *env, pools, vms int, changed bool) string {
	recipes := `"toolchain"`
	if changed {
		recipes = `"toolchain", "git"`
	}
	var b strings.Builder
	fmt.Fprintf(&b, `host {
  name      = "build-01"
  state_dir = %q
}
virtualbox {
  manage         = %q
  max_parallel   = 2
  ssh_port_range = [%d, %d]
}
box "lucid32" {
  version = "2.0.0"
  url     = "file://%s/lucid32-2.0.0.box"
}
`, e.stateDir, e.sim.Bin, e.ports[0], e.ports[1], e.dir)
	for i := 1; i <= pools; i++ {
		fmt.Fprintf(&b, `pool "p%d" {
  box    = "lucid32"
  vms    = %d
  memory = 256
  provision "chef_solo" {
    cookbooks = ["cookbooks"]
    recipes   = [%s]
  }
  rollout { max_unavailable = %d }
}
`, i, vms, recipes, vms)
	}
	return b.String()
}

// loadDesired writes text as the env's fleet.hcl and returns its desired state.
func loadDesired(tb testing.TB, e *env, text string) reconcile.Desired {
	tb.Helper()
	path := filepath.Join(e.dir, "fleet.hcl")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	fleet, diags := spec.Load(path)
	if diags.HasErrors() {
		tb.Fatalf("fleet.hcl: %v", diags)
	}
	fps, err := reconcile.Fingerprints(fleet)
	if err != nil {
		tb.Fatal(err)
	}
	return reconcile.NewDesired(fleet, fps)
}

// BenchmarkReprovision5Workers measures converging a host whose 5 workers run on recipes A to
// recipes B, with the simulator's realistic latency profile scaled by 0.1 (a full-scale run
// takes minutes) and each chef-solo run taking reprovisionChef:
//
//   - golden+clones: one pool of 5; one golden image is provisioned, then 5 linked clones
//     replace the workers (max_unavailable = 5, so the rollout is not what is measured).
//   - each-worker: five pools of 1; five golden images are provisioned, one per worker.
//
// Both at max_parallel = 2, the default. Repeat with:
//
//	go test ./vboxprovider -run '^$' -bench Reprovision5Workers -benchtime 1x
func BenchmarkReprovision5Workers(b *testing.B) {
	cases := []struct {
		name       string
		pools, vms int
	}{
		{"golden+clones", 1, 5},
		{"each-worker", 5, 1},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var chefRuns int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := newEnv(b)
				writeToolchainCookbook(b, e)
				e.driver = e.newDriver(2)
				e.prov = e.newProvider(e.driver)
				ap := &reconcile.Applier{Provider: e.prov, Boxes: e.cache, MaxParallel: 2, RetryBase: 20 * time.Millisecond}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				before := loadDesired(b, e, reprovisionFleet(e, c.pools, c.vms, false))
				if _, err := ap.Converge(ctx, before, e.observe, nil, 0); err != nil {
					cancel()
					b.Fatalf("converge recipes A: %v", err)
				}
				after := loadDesired(b, e, reprovisionFleet(e, c.pools, c.vms, true))
				e.sim.SetProfile(b, vboxsim.RealisticProfile()+"\nscale = 0.1\n")
				old := goldens(b, e)
				b.StartTimer()
				_, err := ap.Converge(ctx, after, e.observe, nil, 0)
				b.StopTimer()
				cancel()
				if err != nil {
					b.Fatalf("converge recipes B: %v", err)
				}
				for g := range goldens(b, e) {
					if !old[g] {
						chefRuns++
					}
				}
				e.sim.SetProfile(b, "")
			}
			b.ReportMetric(float64(chefRuns)/float64(b.N), "chef-solo-runs")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/reprovision")
		})
	}
}

// writeToolchainCookbook adds the cookbook whose recipe stands for a real provisioning run.
func writeToolchainCookbook(tb testing.TB, e *env) {
	tb.Helper()
	for path, body := range map[string]string{
		"cookbooks/toolchain/metadata.rb": "name \"toolchain\"\nversion \"1.0.0\"\n",
		"cookbooks/toolchain/recipes/default.rb": fmt.Sprintf("execute \"sleep %g\"\n",
			reprovisionChef.Seconds()),
	} {
		p := filepath.Join(e.dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// goldens lists the golden images' machine folders: one chef-solo run made each.
func goldens(tb testing.TB, e *env) map[string]bool {
	tb.Helper()
	dirs, err := filepath.Glob(filepath.Join(e.sim.Home, "machines", "fleet-golden-*"))
	if err != nil {
		tb.Fatal(err)
	}
	out := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		out[filepath.Base(d)] = true
	}
	return out
}
