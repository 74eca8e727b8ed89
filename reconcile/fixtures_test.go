package reconcile

import (
	"fmt"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/chef"
)

// Fixtures shared by the Diff, render and apply tests: a desired fleet with one box and pools,
// and the VMs a converged host has for it.

var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func provision(recipes ...string) *chef.Identity {
	return &chef.Identity{Hash: "prov-" + strings.Join(recipes, "+"), Version: 1, RunList: recipes}
}

func poolSpec(name string, vms int, version string, prov *chef.Identity) PoolSpec {
	img := Image{Box: "lucid32", BoxVersion: version, User: "vagrant", Provision: prov}
	return PoolSpec{Name: name, Box: "lucid32", VMs: vms, Memory: 1024, CPUs: 1, MaxUnavailable: 1, Image: img, Hash: ImageHash(img)}
}

func desiredOf(version string, pools ...PoolSpec) Desired {
	return Desired{Owner: "build-01", Boxes: []BoxSpec{{Name: "lucid32", Version: version}}, Pools: pools}
}

func boxVM(version string) VM {
	name := BoxVMName("lucid32", version)
	return VM{Name: name, ID: "id-" + name, Role: RoleBox, Phase: PhaseReady, Box: "lucid32", Version: version,
		Power: PowerStopped, Created: t0.Add(-time.Hour)}
}

func goldenVM(p PoolSpec) VM {
	name := GoldenName(p.Name, p.Hash)
	img := p.Image
	return VM{Name: name, ID: "id-" + name, Role: RoleGolden, Pool: p.Name, Phase: PhaseReady, Image: p.Hash,
		ImageFacts: &img, Power: PowerStopped, Snapshots: []string{SnapshotGolden}, Created: t0.Add(-time.Hour)}
}

func workerVM(p PoolSpec, n int, mods ...func(*VM)) VM {
	name := WorkerName(p.Name, n)
	v := VM{Name: name, ID: "id-" + name, Role: RoleWorker, Pool: p.Name, Phase: PhaseReady, Image: p.Hash,
		Power: PowerRunning, Snapshots: []string{SnapshotReady}, Memory: p.Memory, CPUs: p.CPUs, Created: t0.Add(-time.Hour)}
	for _, m := range mods {
		m(&v)
	}
	return v
}

// convergedVMs is the box, golden and every worker of the pools.
func convergedVMs(version string, pools ...PoolSpec) []VM {
	vms := []VM{boxVM(version)}
	for _, p := range pools {
		vms = append(vms, goldenVM(p))
		for i := 1; i <= p.VMs; i++ {
			vms = append(vms, workerVM(p, i))
		}
	}
	return vms
}

func inventory(vms ...VM) Inventory {
	return Inventory{Owner: "build-01", Now: t0, Exclusive: true, VMs: vms, Cached: []BoxKey{{"lucid32", "2.0.0"}}}
}

// brief renders a plan as one comparable line per action: "kind target <- deps (waiting)".
func brief(p Plan) []string {
	var out []string
	for _, a := range p.Actions {
		s := string(a.Kind) + " " + a.Target
		if len(a.DependsOn) > 0 {
			s += " <- " + strings.Join(a.DependsOn, ",")
		}
		if a.Waiting != "" {
			s += fmt.Sprintf(" (waiting: %s)", a.Waiting)
		}
		out = append(out, s)
	}
	return out
}
