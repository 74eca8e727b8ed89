// The Plan: plain data that one renderer prints, one executor applies and tests compare as
// values. Its JSON form is documented in docs/PLAN-JSON.md and only ever grows.

package reconcile

import (
	"encoding/json"
	"fmt"
)

// Kind is what an action does. The values are part of the JSON format.
type Kind string

// Action kinds, in the order a plan lists them.
const (
	KindDestroyOrphan Kind = "destroy_orphan" // a VM left half-created by a pass that died
	KindDestroyWorker Kind = "destroy_worker" // surplus worker (highest index first)
	KindRepairWorker  Kind = "repair_worker"  // destroy and recreate a broken worker
	KindReplaceBox    Kind = "replace_box"    // destroy a box VM, download, verify and import it again
	KindFetchBox      Kind = "fetch_box"      // download, verify and unpack a box
	KindImportBox     Kind = "import_box"     // import a box version as a box VM
	KindBuildGolden   Kind = "build_golden"   // clone the box, provision, snapshot golden
	KindCreateWorker  Kind = "create_worker"  // linked clone of the golden, boot, snapshot ready
	KindStartWorker   Kind = "start_worker"   // start a stopped worker from its ready snapshot
	KindReplaceWorker Kind = "replace_worker" // destroy and recreate a worker with a stale image
	KindCollectGolden Kind = "collect_golden" // remove a golden nothing references any more
	KindCollectBox    Kind = "collect_box"    // remove a box VM (and cached files) nothing needs
)

var kindOrder = map[Kind]int{
	KindDestroyOrphan: 0, KindDestroyWorker: 1, KindRepairWorker: 2, KindReplaceBox: 3, KindFetchBox: 4,
	KindImportBox: 5, KindBuildGolden: 6, KindCreateWorker: 7, KindStartWorker: 8, KindReplaceWorker: 9,
	KindCollectGolden: 10, KindCollectBox: 11,
}

// Symbol is the Terraform-like mark of the kind: "+" create, "~" change in place,
// "-/+" destroy and recreate, "-" destroy.
func (k Kind) Symbol() string {
	switch k {
	case KindFetchBox, KindImportBox, KindBuildGolden, KindCreateWorker:
		return "+"
	case KindStartWorker:
		return "~"
	case KindRepairWorker, KindReplaceWorker, KindReplaceBox:
		return "-/+"
	default:
		return "-"
	}
}

// Action is one step of a plan.
type Action struct {
	// ID is unique in the plan and stable across plans of the same state: "<kind>/<target>".
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Target is the VM the action creates or changes; for fetch_box, "<box>/<version>".
	Target string `json:"target"`
	// TargetID is the provider's identifier of an existing VM the action changes or removes.
	TargetID string `json:"target_id,omitempty"`
	Pool     string `json:"pool,omitempty"`
	// Box and Version name the box of fetch_box, import_box and collect_box.
	Box     string `json:"box,omitempty"`
	Version string `json:"version,omitempty"`
	// Image is the image hash a build_golden, create, repair or replace produces.
	Image string `json:"image,omitempty"`
	// Golden is the golden VM a create, repair or replace clones the worker from; empty means
	// GoldenName(Pool, Image) (plans written before goldens could be rebuilt).
	Golden string `json:"golden,omitempty"`
	// DependsOn lists the IDs of actions that must succeed first.
	DependsOn []string `json:"depends_on,omitempty"`
	// Reason says why, for humans; apply never reads it.
	Reason string `json:"reason"`
	// Waiting, when set, says why the action cannot run yet (a job is running on the worker);
	// apply skips it and a later pass plans it again.
	Waiting string `json:"waiting,omitempty"`
}

// PlanFormatVersion is the "format_version" of the JSON form.
const PlanFormatVersion = 1

// Plan is the ordered list of actions that makes the observed state the desired one.
type Plan struct {
	Owner   string    `json:"owner"`
	Actions []Action  `json:"actions"`
	Foreign []Foreign `json:"-"`
	// Warnings are notes on pools shown with every plan (a pool that allows SSH passwords).
	Warnings []PoolWarning `json:"-"`
}

// Summary counts a plan's actions by symbol; waiting actions are counted apart.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
	Waiting int `json:"waiting"`
}

// Summary counts the plan's actions.
func (p Plan) Summary() Summary {
	var s Summary
	for _, a := range p.Actions {
		if a.Waiting != "" {
			s.Waiting++
			continue
		}
		switch a.Kind.Symbol() {
		case "+":
			s.Add++
		case "~":
			s.Change++
		case "-/+":
			s.Replace++
		default:
			s.Destroy++
		}
	}
	return s
}

// Empty reports whether the plan changes nothing, waiting actions included.
func (p Plan) Empty() bool { return len(p.Actions) == 0 }

// Action returns the action with the given ID, or nil.
func (p Plan) Action(id string) *Action {
	for i := range p.Actions {
		if p.Actions[i].ID == id {
			return &p.Actions[i]
		}
	}
	return nil
}

// planJSON is the documented JSON shape (docs/PLAN-JSON.md).
type planJSON struct {
	FormatVersion int           `json:"format_version"`
	Owner         string        `json:"owner"`
	Actions       []Action      `json:"actions"`
	Foreign       []foreignJSON `json:"foreign"`
	Warnings      []PoolWarning `json:"warnings,omitempty"`
	// Replacements is derived from Actions (GoldenReplacements); a reader of the plan
	// recomputes it, so UnmarshalJSON ignores it.
	Replacements []GoldenReplacement `json:"replacements"`
	Summary      Summary             `json:"summary"`
}

type foreignJSON struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Owner string `json:"owner,omitempty"`
}

// MarshalJSON writes the documented shape: format_version, owner, actions, foreign, warnings,
// replacements, summary.
func (p Plan) MarshalJSON() ([]byte, error) {
	out := planJSON{FormatVersion: PlanFormatVersion, Owner: p.Owner, Actions: p.Actions, Summary: p.Summary(),
		Foreign: []foreignJSON{}, Warnings: p.Warnings, Replacements: p.GoldenReplacements()}
	if out.Replacements == nil {
		out.Replacements = []GoldenReplacement{}
	}
	if out.Actions == nil {
		out.Actions = []Action{}
	}
	for _, f := range p.Foreign {
		out.Foreign = append(out.Foreign, foreignJSON(f))
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads the documented shape; a format_version other than PlanFormatVersion is
// an error.
func (p *Plan) UnmarshalJSON(b []byte) error {
	var in planJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	if in.FormatVersion != PlanFormatVersion {
		return fmt.Errorf("plan format_version %d: want %d", in.FormatVersion, PlanFormatVersion)
	}
	*p = Plan{Owner: in.Owner, Actions: in.Actions, Warnings: in.Warnings}
	for _, f := range in.Foreign {
		p.Foreign = append(p.Foreign, Foreign(f))
	}
	return nil
}

func actionID(k Kind, target string) string { return string(k) + "/" + target }
