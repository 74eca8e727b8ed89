package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// fakeProvider is an in-memory Provider: VMs in a map, failures scripted per call, and the
// peak number of calls running at once recorded.
type fakeProvider struct {
	mu      sync.Mutex
	owner   string
	vms     []VM
	nextID  int
	fail    map[string][]error // "op target" -> errors returned by successive calls
	calls   []string
	running int
	peak    int
	// gate, when set, is received from by every call, so a test can hold calls in flight.
	gate chan struct{}
	// clonedFrom maps each worker created to the golden it was cloned from.
	clonedFrom map[string]string
}

func newFake(vms ...VM) *fakeProvider {
	return &fakeProvider{owner: "build-01", vms: vms, fail: map[string][]error{}}
}

func (f *fakeProvider) enter(ctx context.Context, op, target string) error {
	f.mu.Lock()
	f.calls = append(f.calls, op+" "+target)
	f.running++
	f.peak = max(f.peak, f.running)
	var err error
	if errs := f.fail[op+" "+target]; len(errs) > 0 {
		err, f.fail[op+" "+target] = errs[0], errs[1:]
	}
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	return err
}

func (f *fakeProvider) leave() {
	f.mu.Lock()
	f.running--
	f.mu.Unlock()
}

func (f *fakeProvider) Observe(ctx context.Context) (Inventory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Inventory{Owner: f.owner, VMs: slices.Clone(f.vms)}, nil
}

func (f *fakeProvider) put(v VM) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	v.ID = fmt.Sprintf("new-%d", f.nextID)
	v.Phase, v.Created = PhaseReady, t0
	f.vms = append(f.vms, v)
}

func (f *fakeProvider) ImportBox(ctx context.Context, r ImportRequest) error {
	defer f.leave()
	if err := f.enter(ctx, "import", r.Name); err != nil {
		return err
	}
	f.put(VM{Name: r.Name, Role: RoleBox, Box: r.Box.Name, Version: r.Box.Version, Power: PowerStopped})
	return nil
}

func (f *fakeProvider) BuildGolden(ctx context.Context, r GoldenRequest) error {
	defer f.leave()
	if err := f.enter(ctx, "build", r.Name); err != nil {
		return err
	}
	img := r.Pool.Image
	f.put(VM{Name: r.Name, Role: RoleGolden, Pool: r.Pool.Name, Image: r.Pool.Hash, ImageFacts: &img,
		Power: PowerStopped, Snapshots: []string{SnapshotGolden}})
	return nil
}

func (f *fakeProvider) CreateWorker(ctx context.Context, r WorkerRequest) error {
	defer f.leave()
	if err := f.enter(ctx, "create", r.Name); err != nil {
		return err
	}
	f.mu.Lock()
	if f.clonedFrom == nil {
		f.clonedFrom = map[string]string{}
	}
	f.clonedFrom[r.Name] = r.Golden
	f.mu.Unlock()
	f.put(VM{Name: r.Name, Role: RoleWorker, Pool: r.Pool.Name, Image: r.Pool.Hash, Power: PowerRunning,
		Snapshots: []string{SnapshotReady}, Memory: r.Pool.Memory, CPUs: r.Pool.CPUs})
	return nil
}

func (f *fakeProvider) StartWorker(ctx context.Context, vm VMRef) error {
	defer f.leave()
	if err := f.enter(ctx, "start", vm.Name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.vms {
		if f.vms[i].ID == vm.ID {
			f.vms[i].Power = PowerRunning
			return nil
		}
	}
	return errors.New("start: no such vm")
}

func (f *fakeProvider) Destroy(ctx context.Context, vm VMRef) error {
	defer f.leave()
	if err := f.enter(ctx, "destroy", vm.Name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vms = slices.DeleteFunc(f.vms, func(v VM) bool { return v.ID == vm.ID })
	return nil
}

func (f *fakeProvider) inventory() Inventory {
	inv, _ := f.Observe(context.Background())
	inv.Now, inv.Exclusive = t0, true
	inv.Cached = []BoxKey{{"lucid32", "2.0.0"}, {"lucid32", "2.1.0"}}
	return inv
}

// fakeBoxes is a BoxStore that has every box.
type fakeBoxes struct {
	mu      sync.Mutex
	removed []BoxKey
}

func (b *fakeBoxes) List() ([]BoxKey, error) {
	return []BoxKey{{"lucid32", "2.0.0"}, {"lucid32", "2.1.0"}}, nil
}
func (b *fakeBoxes) Fetch(ctx context.Context, box BoxSpec) (string, error) {
	return "/cache/" + box.Name + "/" + box.Version, nil
}
func (b *fakeBoxes) Remove(name, version string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.removed = append(b.removed, BoxKey{name, version})
	return nil
}
