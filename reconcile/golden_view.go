// The replacement view of a golden rebuild: a build_golden for a pool whose old golden is still
// there (removed by a collect_golden once its last worker is gone, or at once by a
// destroy_orphan when it was rejected) is one replacement, `-/+ golden "ruby"`, with its reason
// and the workers that will be rolled onto the new image. It is derived from the actions (apply
// never reads it), so a plan read back from JSON shows the same view.

package reconcile

import "strings"

// GoldenReplacement is one golden image rebuilt in place of an old one.
type GoldenReplacement struct {
	Pool string `json:"pool"`
	// From names the old golden VMs (usually one); To the golden VM built.
	From []string `json:"from"`
	To   string   `json:"to"`
	// Reason says why, for humans: the build's reason (recipes changed, box version changed,
	// hardening changed, replacement requested), or why the old golden was rejected.
	Reason string `json:"reason"`
	// Build is the ID of the build_golden action; Remove the IDs of the actions removing the
	// old goldens (collect_golden, destroy_orphan).
	Build  string   `json:"build"`
	Remove []string `json:"remove"`
	// Workers are the IDs of the worker actions that clone from the new golden (replace,
	// repair, create), in plan order.
	Workers []string `json:"workers"`
}

// GoldenReplacements lists the plan's golden rebuilds, in the order of their build actions.
func (p Plan) GoldenReplacements() []GoldenReplacement {
	var out []GoldenReplacement
	for _, b := range p.Actions {
		if b.Kind != KindBuildGolden {
			continue
		}
		r := GoldenReplacement{Pool: b.Pool, To: b.Target, Reason: b.Reason, Build: b.ID}
		for _, a := range p.Actions {
			switch {
			case a.Pool != b.Pool || a.Target == b.Target && a.Kind != KindDestroyOrphan:
			case a.Kind == KindCollectGolden,
				a.Kind == KindDestroyOrphan && strings.HasPrefix(a.Target, goldenPrefix):
				r.From = append(r.From, a.Target)
				r.Remove = append(r.Remove, a.ID)
				if a.Kind == KindDestroyOrphan {
					r.Reason = a.Reason
				}
			case a.Kind == KindReplaceWorker || a.Kind == KindRepairWorker || a.Kind == KindCreateWorker:
				for _, dep := range a.DependsOn {
					if dep == b.ID {
						r.Workers = append(r.Workers, a.ID)
						break
					}
				}
			}
		}
		if len(r.From) == 0 {
			continue // a first build: an ordinary "+ build golden"
		}
		if r.Workers == nil {
			r.Workers = []string{}
		}
		out = append(out, r)
	}
	return out
}

// goldenPrefix starts the name of every golden VM.
const goldenPrefix = "fleet-golden-"
