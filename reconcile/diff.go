// Diff: the pure function from (desired, observed) to a Plan. It sorts every managed VM into
// a box, golden or worker slot, asks the transition table what each slot needs, then wires the
// dependencies that make the plan safe: destroys and repairs before creates, a new golden
// before the workers that use it, rolling replacement within max_unavailable, and garbage
// collection only after the last user of a golden or box is gone.

package reconcile

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Diff returns the plan that makes observed match desired. It does no I/O and reads the clock
// only through observed.Now, so equal inputs give equal plans.
func Diff(desired Desired, observed Inventory) Plan {
	b := &differ{d: &desired, inv: &observed, byID: map[string]*Action{}, replace: map[string]bool{}, current: map[string]string{}}
	for _, id := range desired.Replace {
		b.replace[id] = true
	}
	b.sortVMs()
	b.boxes()
	b.goldens()
	b.workers()
	b.collect()
	b.wire()
	return b.finish()
}

type differ struct {
	d    *Desired
	inv  *Inventory
	acts []*Action
	byID map[string]*Action

	boxVMs, goldenVMs []*VM
	workerVMs         map[string][]*VM // by name
	otherWorkers      []*VM            // managed, not a slot of a desired pool
	// workerAction maps a worker VM ID to the action that removes or recreates it.
	workerAction map[string]*Action
	// imports and builds by box VM name and by pool.
	imports map[string]*Action
	builds  map[string]*Action
	orphans map[string]*Action // destroy_orphan by VM name
	cordon  map[string]bool    // cordoned VM IDs, built on first use
	replace map[string]bool    // IDs of VMs whose replacement was requested (Desired.Replace)
	current map[string]string  // the golden each pool's workers are cloned from, by pool
	reasons map[string]string  // staleReason by pool and image, since chef.Changes is costly
}

func (b *differ) add(a Action) *Action {
	if a.ID == "" {
		a.ID = actionID(a.Kind, a.Target)
	}
	if _, dup := b.byID[a.ID]; dup {
		a.ID += "#" + a.TargetID
	}
	p := &a
	b.acts = append(b.acts, p)
	b.byID[p.ID] = p
	return p
}

// sortVMs puts each managed VM in its category by name: fleet-box-*, fleet-golden-*, or a
// worker slot "<pool>-<n>".
func (b *differ) sortVMs() {
	b.workerVMs = map[string][]*VM{}
	b.workerAction = map[string]*Action{}
	b.imports, b.builds, b.orphans = map[string]*Action{}, map[string]*Action{}, map[string]*Action{}
	for i := range b.inv.VMs {
		v := &b.inv.VMs[i]
		switch {
		case strings.HasPrefix(v.Name, "fleet-box-"):
			b.boxVMs = append(b.boxVMs, v)
		case strings.HasPrefix(v.Name, "fleet-golden-"):
			b.goldenVMs = append(b.goldenVMs, v)
		default:
			pool, _, ok := ParseWorkerName(v.Name)
			if ok && b.d.Pool(pool) != nil {
				b.workerVMs[v.Name] = append(b.workerVMs[v.Name], v)
			} else {
				b.otherWorkers = append(b.otherWorkers, v)
			}
		}
	}
}

// orphan plans the removal of a box or golden VM that is not what its name promises: left in
// phase creating, carrying the facts of the VM it was cloned from, or a golden rejected by its
// check (whatever its phase).
func (b *differ) orphan(v *VM, wantRole string, wantName string) bool {
	if v.Role == wantRole && v.Phase == PhaseReady && v.Name == wantName && v.Rejected == "" {
		return false
	}
	a := Action{Kind: KindDestroyOrphan, Target: v.Name, TargetID: v.ID, Pool: v.Pool, Reason: "creation interrupted"}
	if v.Rejected != "" {
		a.Reason = "golden not used: " + v.Rejected
	} else if v.Phase != PhaseCreating {
		a.Reason = "unexpected " + v.Role + " facts on " + v.Name
	} else if !b.inv.Exclusive && !v.Created.IsZero() && b.inv.Now.Sub(v.Created) < b.d.createTimeout() {
		a.Waiting = "being created by another pass"
	}
	b.orphans[v.Name] = b.add(a)
	return true
}

func (b *differ) boxes() {
	need := map[string]*BoxSpec{}
	for _, p := range b.d.Pools {
		if box := b.d.Box(p.Box); box != nil && p.VMs > 0 {
			need[BoxVMName(box.Name, box.Version)] = box
		}
	}
	have := map[string]bool{}
	for _, v := range b.boxVMs {
		if b.orphan(v, RoleBox, BoxVMName(v.Box, v.Version)) {
			continue
		}
		have[v.Name] = true
		if box := need[v.Name]; box != nil && b.replace[v.ID] {
			b.imports[v.Name] = b.add(Action{Kind: KindReplaceBox, Target: v.Name, TargetID: v.ID, Box: box.Name,
				Version: box.Version, Reason: ReasonReplace})
		}
	}
	for _, name := range sortedKeys(need) {
		if have[name] {
			continue
		}
		box := need[name]
		imp := Action{Kind: KindImportBox, Target: name, Box: box.Name, Version: box.Version,
			Reason: "box " + box.Name + " " + box.Version + " not imported"}
		if !b.inv.HasBox(box.Name, box.Version) {
			f := b.add(Action{Kind: KindFetchBox, Target: box.Name + "/" + box.Version, Box: box.Name, Version: box.Version,
				Reason: "box " + box.Name + " " + box.Version + " not downloaded"})
			imp.DependsOn = append(imp.DependsOn, f.ID)
		}
		if o := b.orphans[name]; o != nil {
			imp.DependsOn = append(imp.DependsOn, o.ID)
		}
		b.imports[name] = b.add(imp)
	}
}

// goldens plans a golden for every pool with VMs that has none of its image, or only ones whose
// replacement was requested: the next generation, built beside them.
func (b *differ) goldens() {
	type key struct{ pool, image string }
	best := map[key]*VM{} // the newest generation not being replaced
	gens := map[key]int{} // the newest generation
	replaced := map[key]bool{}
	for _, v := range b.goldenVMs {
		want := GoldenName(v.Pool, v.Image)
		if goldenGen(v) > 0 {
			want = v.Name
		}
		if b.orphan(v, RoleGolden, want) {
			continue
		}
		if !v.HasSnapshot(SnapshotGolden) {
			b.orphans[v.Name] = b.add(Action{Kind: KindDestroyOrphan, Target: v.Name, TargetID: v.ID, Pool: v.Pool,
				Reason: "golden snapshot missing"})
			continue
		}
		k, g := key{v.Pool, v.Image}, goldenGen(v)
		gens[k] = max(gens[k], g)
		if b.replace[v.ID] {
			replaced[k] = true
		} else if best[k] == nil || g > goldenGen(best[k]) {
			best[k] = v
		}
	}
	for _, p := range b.d.Pools {
		if p.VMs == 0 {
			continue
		}
		k := key{p.Name, p.Hash}
		if g := best[k]; g != nil {
			b.current[p.Name] = g.Name
			continue
		}
		name := GoldenGenName(p.Name, p.Hash, gens[k]+1)
		b.current[p.Name] = name
		reason := ReasonReplace
		if !replaced[k] {
			reason = b.goldenReason(&p)
		}
		a := Action{Kind: KindBuildGolden, Target: name, Pool: p.Name, Image: p.Hash, Reason: reason}
		if box := b.d.Box(p.Box); box != nil {
			if imp := b.imports[BoxVMName(box.Name, box.Version)]; imp != nil {
				a.DependsOn = append(a.DependsOn, imp.ID)
			}
		}
		if o := b.orphans[name]; o != nil {
			a.DependsOn = append(a.DependsOn, o.ID)
		}
		b.builds[p.Name] = b.add(a)
	}
}

// goldenReason says why a pool needs a new golden: the changes from its newest existing one.
func (b *differ) goldenReason(p *PoolSpec) string {
	var prev *VM
	for _, v := range b.goldenVMs {
		if v.Pool == p.Name && v.Role == RoleGolden && v.Phase == PhaseReady && (prev == nil || v.Created.After(prev.Created)) {
			prev = v
		}
	}
	if prev == nil {
		return "new image for pool " + p.Name
	}
	return imageChanges(prev.ImageFacts, p.Image)
}

func (b *differ) workers() {
	timeout := b.d.createTimeout()
	for _, p := range b.d.Pools {
		n := p.VMs
		// Every slot from 1 to the pool's count, and every observed slot above it.
		maxIdx, observed := n, 0
		for name := range b.workerVMs {
			if pool, i, _ := ParseWorkerName(name); pool == p.Name {
				observed++
				maxIdx = max(maxIdx, i)
			}
		}
		for i := 1; i <= maxIdx; i++ {
			name := WorkerName(p.Name, i)
			vms := b.workerVMs[name]
			want := WantPresent
			if i > n {
				want = WantAbsent
			}
			// Keep the best VM of the name; any duplicate is surplus.
			slices.SortStableFunc(vms, func(x, y *VM) int { return cmp.Compare(rank(y), rank(x)) })
			var vm *VM
			if len(vms) > 0 {
				vm = vms[0]
				for _, dup := range vms[1:] {
					b.slotCond(&p, name, dup, WantAbsent, condition{obs: ObsRunning}, "duplicate name")
				}
			}
			if vm == nil && want == WantAbsent {
				continue
			}
			c := classify(vm, &p, b.inv.Now, b.inv.Exclusive, timeout)
			if want == WantPresent && vm != nil && b.replace[vm.ID] && (c.obs == ObsRunning || c.obs == ObsStopped) {
				c = condition{obs: ObsStale, reason: ReasonReplace}
			}
			reason := c.reason
			if want == WantAbsent && c.obs != ObsCreating {
				reason = "count " + strconv.Itoa(observed) + " -> " + strconv.Itoa(n)
			}
			if c.obs == ObsStale && vm.Image != p.Hash {
				reason = b.staleReason(vm, &p)
			}
			b.slotCond(&p, name, vm, want, c, reason)
		}
	}
	for _, v := range b.otherWorkers {
		reason := "pool " + v.Pool + " no longer declared"
		if _, _, ok := ParseWorkerName(v.Name); !ok {
			reason = "unexpected name"
		}
		b.slotCond(nil, v.Name, v, WantAbsent, condition{obs: ObsRunning}, reason)
	}
}

// slotCond adds the action the transition table gives for one worker slot.
func (b *differ) slotCond(p *PoolSpec, name string, vm *VM, want Want, c condition, reason string) {
	st := transitions[want][c.obs]
	if st.kind == "" {
		return
	}
	a := Action{Kind: st.kind, Target: name, Reason: reason}
	if vm != nil {
		a.TargetID, a.Pool = vm.ID, vm.Pool
	}
	if p != nil {
		a.Pool = p.Name
		if st.kind != KindDestroyWorker && st.kind != KindStartWorker {
			a.Image = p.Hash
			if g := b.current[p.Name]; g != GoldenName(p.Name, p.Hash) {
				a.Golden = g
			}
		}
	}
	if st.wait {
		a.Waiting = c.wait
	}
	if vm != nil && vm.Busy && a.Waiting == "" {
		a.Waiting = "busy with a job"
	}
	added := b.add(a)
	if vm != nil {
		b.workerAction[vm.ID] = added
	}
}

// rank orders VMs sharing a name: a ready worker beats one being created.
func rank(v *VM) int {
	r := 0
	if v.Role == RoleWorker {
		r += 2
	}
	if v.Phase == PhaseReady {
		r++
	}
	return r
}

// staleReason explains a stale image with the changes between the worker's golden, when it
// still exists, and the pool's image.
func (b *differ) staleReason(vm *VM, p *PoolSpec) string {
	key := p.Name + "/" + vm.Image
	if r, ok := b.reasons[key]; ok {
		return r
	}
	r := "image " + shortHash(vm.Image) + " -> " + shortHash(p.Hash)
	for _, g := range b.goldenVMs {
		if g.Image == vm.Image && g.Pool == p.Name {
			r = imageChanges(g.ImageFacts, p.Image)
			break
		}
	}
	if b.reasons == nil {
		b.reasons = map[string]string{}
	}
	b.reasons[key] = r
	return r
}

// collect plans the removal of goldens and boxes nothing desired needs, after the workers (or
// goldens) still made from them are gone.
func (b *differ) collect() {
	wantGolden := map[string]bool{}
	wantBox := map[string]bool{}
	for _, p := range b.d.Pools {
		if p.VMs > 0 {
			wantGolden[b.current[p.Name]] = true
			if box := b.d.Box(p.Box); box != nil {
				wantBox[BoxVMName(box.Name, box.Version)] = true
			}
		}
	}
	goldenCollect := map[string]*Action{}
	for _, g := range b.goldenVMs {
		if wantGolden[g.Name] || b.orphans[g.Name] != nil {
			continue
		}
		a := Action{Kind: KindCollectGolden, Target: g.Name, TargetID: g.ID, Pool: g.Pool, Reason: "no longer referenced"}
		p := b.d.Pool(g.Pool)
		if p != nil && p.VMs > 0 {
			a.Reason = "superseded by " + b.current[g.Pool]
		}
		// A golden rebuilt on request shares its image with its successor: only the workers
		// whose replacement was requested with it are still linked to it.
		successor := p != nil && p.VMs > 0 && p.Hash == g.Image && b.replace[g.ID]
		if successor {
			a.Reason = "replaced by " + b.current[g.Pool]
		}
		for _, v := range b.inv.VMs {
			if v.Image != g.Image || v.Name == g.Name || strings.HasPrefix(v.Name, "fleet-") {
				continue
			}
			if successor && (!b.replace[v.ID] || v.Pool != g.Pool) {
				continue
			}
			if w := b.workerAction[v.ID]; w != nil && w.Kind != KindStartWorker {
				a.DependsOn = append(a.DependsOn, w.ID)
			} else if a.Waiting == "" {
				a.Waiting = "still used by " + v.Name
			}
		}
		goldenCollect[g.Name] = b.add(a)
	}
	for _, v := range b.boxVMs {
		if wantBox[v.Name] || b.orphans[v.Name] != nil {
			continue
		}
		a := Action{Kind: KindCollectBox, Target: v.Name, TargetID: v.ID, Box: v.Box, Version: v.Version, Reason: "no pool uses box " + v.Box + " " + v.Version}
		for _, g := range b.goldenVMs {
			if g.ImageFacts == nil || g.ImageFacts.Box != v.Box || g.ImageFacts.BoxVersion != v.Version {
				continue
			}
			if c := goldenCollect[g.Name]; c != nil {
				a.DependsOn = append(a.DependsOn, c.ID)
			} else if wantGolden[g.Name] && a.Waiting == "" {
				a.Waiting = "still used by " + g.Name
			}
		}
		b.add(a)
	}
}

// wire adds the ordering dependencies between workers: destroys and repairs before creates, a
// pool's new golden before its creates, repairs and replacements, and rolling replacement.
func (b *differ) wire() {
	var destroys, repairs []string
	for _, a := range b.acts {
		if a.Waiting != "" {
			continue
		}
		switch a.Kind {
		case KindDestroyWorker:
			destroys = append(destroys, a.ID)
		case KindDestroyOrphan:
			if !strings.HasPrefix(a.Target, "fleet-") {
				destroys = append(destroys, a.ID)
			}
		case KindRepairWorker:
			repairs = append(repairs, a.ID)
		}
	}
	for _, p := range b.d.Pools {
		build := b.builds[p.Name]
		var restore []string
		var replaces []*Action
		for _, a := range b.acts {
			if a.Pool != p.Name {
				continue
			}
			switch a.Kind {
			case KindCreateWorker, KindRepairWorker:
				if build != nil {
					a.DependsOn = append(a.DependsOn, build.ID)
				}
				a.DependsOn = append(a.DependsOn, destroys...)
				if a.Kind == KindCreateWorker {
					a.DependsOn = append(a.DependsOn, repairs...)
				}
				if a.Waiting == "" {
					restore = append(restore, a.ID)
				}
			case KindStartWorker:
				if a.Waiting == "" {
					restore = append(restore, a.ID)
				}
			case KindReplaceWorker:
				if build != nil {
					a.DependsOn = append(a.DependsOn, build.ID)
				}
				if a.Waiting == "" && !b.cordoned(a.TargetID) {
					replaces = append(replaces, a)
				}
			}
		}
		slices.SortFunc(replaces, func(x, y *Action) int { return cmp.Compare(workerIndex(x.Target), workerIndex(y.Target)) })
		mu := max(p.MaxUnavailable, 1)
		for i, a := range replaces {
			if i < mu {
				a.DependsOn = append(a.DependsOn, restore...)
			} else {
				a.DependsOn = append(a.DependsOn, replaces[i-mu].ID)
			}
		}
	}
}

func (b *differ) cordoned(id string) bool {
	if b.cordon == nil {
		b.cordon = map[string]bool{}
		for _, v := range b.inv.VMs {
			if v.Cordoned {
				b.cordon[v.ID] = true
			}
		}
	}
	return b.cordon[id]
}

// finish orders the actions, propagates waiting to dependents and returns the plan.
func (b *differ) finish() Plan {
	slices.SortStableFunc(b.acts, func(x, y *Action) int {
		return cmp.Or(
			cmp.Compare(kindOrder[x.Kind], kindOrder[y.Kind]),
			cmp.Compare(x.Pool, y.Pool),
			cmp.Compare(indexKey(x), indexKey(y)),
			cmp.Compare(x.Target, y.Target),
			cmp.Compare(x.ID, y.ID),
		)
	})
	plan := Plan{Owner: b.d.Owner, Foreign: b.inv.Foreign, Warnings: poolWarnings(*b.d), Actions: make([]Action, 0, len(b.acts))}
	for _, a := range b.acts {
		slices.Sort(a.DependsOn)
		a.DependsOn = slices.Compact(a.DependsOn)
		plan.Actions = append(plan.Actions, *a)
	}
	// An action that depends on a waiting one waits too; sweep until nothing changes, since a
	// dependency may sort after its dependent.
	index := make(map[string]int, len(plan.Actions))
	for i, a := range plan.Actions {
		index[a.ID] = i
	}
	for changed := true; changed; {
		changed = false
		for i := range plan.Actions {
			a := &plan.Actions[i]
			if a.Waiting != "" {
				continue
			}
			for _, dep := range a.DependsOn {
				if j, ok := index[dep]; ok && plan.Actions[j].Waiting != "" {
					a.Waiting, changed = "after "+dep, true
					break
				}
			}
		}
	}
	return plan
}

// indexKey sorts workers by index, surplus destroys highest first.
func indexKey(a *Action) int {
	n := workerIndex(a.Target)
	if a.Kind == KindDestroyWorker {
		return -n
	}
	return n
}

func workerIndex(name string) int {
	_, n, ok := ParseWorkerName(name)
	if !ok {
		return 0
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
