// Forced replacement (`-replace=TARGET`, `agent replace TARGET`): the names an operator may
// give (a worker, golden.POOL, box.NAME), their resolution into the IDs of the VMs to replace
// with everything built on them, and the naming of rebuilt goldens, which must live beside the
// golden their old workers are still linked to until those workers are gone.
//
// A request is resolved once, against one observation, into VM IDs (Desired.Replace). Diff
// plans a replacement for each ID it still observes, so the request is level-triggered: a pass
// that dies halfway leaves fewer IDs to replace, and once none is observed the request is done.

package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ReasonReplace is the reason of every action a replacement request causes.
const ReasonReplace = "replacement requested"

// Target prefixes of ResolveReplace.
const (
	TargetGolden = "golden."
	TargetBox    = "box."
)

// ErrUnknownTarget means a target names nothing this agent manages.
var ErrUnknownTarget = errors.New("unknown target")

// ErrForeignTarget means a target names a VM this agent does not own.
var ErrForeignTarget = errors.New("not owned by this agent")

// TargetError is a target an operator command cannot act on. Err is ErrUnknownTarget or
// ErrForeignTarget; Valid lists the targets that would have been accepted.
type TargetError struct {
	Target string
	// Owner is the fleet/owner of a foreign VM, empty when nobody manages it.
	Owner string
	Valid []string
	Err   error
}

func (e *TargetError) Error() string {
	if errors.Is(e.Err, ErrForeignTarget) {
		who := "nobody manages it"
		if e.Owner != "" {
			who = "it belongs to " + strconv.Quote(e.Owner)
		}
		return fmt.Sprintf("%s: VM %s (%s); refusing to touch it", e.Target, e.Err, who)
	}
	valid := "none"
	if len(e.Valid) > 0 {
		valid = strings.Join(e.Valid, ", ")
	}
	return fmt.Sprintf("%s: %s; valid targets: %s", e.Target, e.Err, valid)
}

func (e *TargetError) Unwrap() error { return e.Err }

// Workers returns the names of the managed worker VMs observed, sorted.
func (inv *Inventory) Workers() []string {
	var out []string
	for _, v := range inv.VMs {
		if v.Role == RoleWorker && !strings.HasPrefix(v.Name, "fleet-") {
			out = append(out, v.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Worker returns the managed worker VM called name. A foreign VM of that name is refused with
// ErrForeignTarget, any other name with ErrUnknownTarget and the list of workers.
func (inv *Inventory) Worker(name string) (*VM, error) {
	for i := range inv.VMs {
		if v := &inv.VMs[i]; v.Name == name && v.Role == RoleWorker {
			return v, nil
		}
	}
	return nil, inv.targetError(name, inv.Workers())
}

func (inv *Inventory) targetError(target string, valid []string) error {
	for _, f := range inv.Foreign {
		if f.Name == target || f.ID == target {
			return &TargetError{Target: target, Owner: f.Owner, Err: ErrForeignTarget}
		}
	}
	return &TargetError{Target: target, Valid: valid, Err: ErrUnknownTarget}
}

// ReplaceTargets lists what ResolveReplace accepts on inv: every managed worker, golden.POOL
// for every pool with a built golden and box.NAME for every declared box imported here.
func ReplaceTargets(d Desired, inv Inventory) []string {
	out := inv.Workers()
	var goldens, boxes []string
	for _, p := range d.Pools {
		if len(currentGoldens(d, inv, &p)) > 0 {
			goldens = append(goldens, TargetGolden+p.Name)
		}
	}
	for _, b := range d.Boxes {
		if importedBox(inv, &b) != nil {
			boxes = append(boxes, TargetBox+b.Name)
		}
	}
	slices.Sort(goldens)
	slices.Sort(boxes)
	return append(append(out, goldens...), boxes...)
}

// ResolveReplace returns the IDs of the VMs a replacement of target replaces: a worker; a
// pool's golden (golden.POOL) and every worker cloned from it; a box (box.NAME) and every
// golden built from it, with their workers. It does no I/O.
func ResolveReplace(d Desired, inv Inventory, target string) ([]string, error) {
	var ids []string
	switch {
	case strings.HasPrefix(target, TargetBox):
		b := d.Box(strings.TrimPrefix(target, TargetBox))
		var vm *VM
		if b != nil {
			vm = importedBox(inv, b)
		}
		if vm == nil {
			return nil, inv.targetError(target, ReplaceTargets(d, inv))
		}
		ids = append(ids, vm.ID)
		for _, p := range d.Pools {
			if p.Box == b.Name {
				ids = append(ids, goldenAndWorkers(d, inv, &p)...)
			}
		}
	case strings.HasPrefix(target, TargetGolden):
		p := d.Pool(strings.TrimPrefix(target, TargetGolden))
		if p == nil || len(currentGoldens(d, inv, p)) == 0 {
			return nil, inv.targetError(target, ReplaceTargets(d, inv))
		}
		ids = goldenAndWorkers(d, inv, p)
	default:
		vm, err := inv.Worker(target)
		if err != nil {
			var te *TargetError
			if errors.As(err, &te) && te.Valid != nil {
				te.Valid = ReplaceTargets(d, inv)
			}
			return nil, err
		}
		ids = append(ids, vm.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// importedBox returns the ready box VM of the declared version of b, or nil.
func importedBox(inv Inventory, b *BoxSpec) *VM {
	for i := range inv.VMs {
		v := &inv.VMs[i]
		if v.Role == RoleBox && v.Phase == PhaseReady && v.Name == BoxVMName(b.Name, b.Version) {
			return v
		}
	}
	return nil
}

// currentGoldens returns the ready goldens of pool p with its image hash, any generation.
func currentGoldens(d Desired, inv Inventory, p *PoolSpec) []*VM {
	if p.VMs == 0 {
		return nil
	}
	var out []*VM
	for i := range inv.VMs {
		v := &inv.VMs[i]
		if v.Role == RoleGolden && v.Phase == PhaseReady && v.Pool == p.Name && v.Image == p.Hash && goldenGen(v) > 0 {
			out = append(out, v)
		}
	}
	return out
}

// goldenAndWorkers returns the IDs of pool p's goldens of its image and of its workers.
func goldenAndWorkers(d Desired, inv Inventory, p *PoolSpec) []string {
	var ids []string
	for _, g := range currentGoldens(d, inv, p) {
		ids = append(ids, g.ID)
	}
	if len(ids) == 0 {
		return nil
	}
	for _, v := range inv.VMs {
		if v.Role == RoleWorker && v.Pool == p.Name && v.Image == p.Hash && !strings.HasPrefix(v.Name, "fleet-") {
			ids = append(ids, v.ID)
		}
	}
	return ids
}

// GoldenGenName is the name of generation gen (from 1) of pool's golden for the image hash.
// The first generation is GoldenName; a golden rebuilt on request gets the next one.
func GoldenGenName(pool, hash string, gen int) string {
	if gen <= 1 {
		return GoldenName(pool, hash)
	}
	return GoldenName(pool, hash) + "-r" + strconv.Itoa(gen)
}

// goldenGen returns the generation v's name gives it for its pool and image, 0 when the name
// is not one of theirs.
func goldenGen(v *VM) int {
	base := GoldenName(v.Pool, v.Image)
	if v.Name == base {
		return 1
	}
	rest, ok := strings.CutPrefix(v.Name, base+"-r")
	if !ok || rest == "" || rest[0] == '0' || len(rest) > 6 {
		return 0
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 2 {
		return 0
	}
	return n
}
