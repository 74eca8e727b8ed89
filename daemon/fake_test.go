package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/spec"
)

// fakeProvider is an in-memory reconcile.Provider: VMs in a slice, failures scripted per
// "op target", every call recorded.
type fakeProvider struct {
	mu     sync.Mutex
	owner  string
	vms    []reconcile.VM
	nextID int
	fail   map[string][]error
	calls  []string
}

func newFakeProvider(owner string) *fakeProvider {
	return &fakeProvider{owner: owner, fail: map[string][]error{}}
}

func (f *fakeProvider) enter(op, target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op+" "+target)
	if errs := f.fail[op+" "+target]; len(errs) > 0 {
		err := errs[0]
		f.fail[op+" "+target] = errs[1:]
		return err
	}
	return nil
}

func (f *fakeProvider) Observe(ctx context.Context) (reconcile.Inventory, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return reconcile.Inventory{Owner: f.owner, VMs: slices.Clone(f.vms)}, nil
}

func (f *fakeProvider) put(v reconcile.VM) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	v.ID = fmt.Sprintf("id-%d", f.nextID)
	v.Phase, v.Created = reconcile.PhaseReady, time.Now()
	f.vms = append(f.vms, v)
}

func (f *fakeProvider) ImportBox(ctx context.Context, r reconcile.ImportRequest) error {
	if err := f.enter("import", r.Name); err != nil {
		return err
	}
	f.put(reconcile.VM{Name: r.Name, Role: reconcile.RoleBox, Box: r.Box.Name, Version: r.Box.Version, Power: reconcile.PowerStopped})
	return nil
}

func (f *fakeProvider) BuildGolden(ctx context.Context, r reconcile.GoldenRequest) error {
	if err := f.enter("build", r.Name); err != nil {
		return err
	}
	img := r.Pool.Image
	f.put(reconcile.VM{Name: r.Name, Role: reconcile.RoleGolden, Pool: r.Pool.Name, Image: r.Pool.Hash, ImageFacts: &img,
		Power: reconcile.PowerStopped, Snapshots: []string{reconcile.SnapshotGolden}})
	return nil
}

func (f *fakeProvider) CreateWorker(ctx context.Context, r reconcile.WorkerRequest) error {
	if err := f.enter("create", r.Name); err != nil {
		return err
	}
	f.put(reconcile.VM{Name: r.Name, Role: reconcile.RoleWorker, Pool: r.Pool.Name, Image: r.Pool.Hash,
		Power: reconcile.PowerRunning, Snapshots: []string{reconcile.SnapshotReady}, Memory: r.Pool.Memory, CPUs: r.Pool.CPUs})
	return nil
}

func (f *fakeProvider) StartWorker(ctx context.Context, vm reconcile.VMRef) error {
	if err := f.enter("start", vm.Name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.vms {
		if f.vms[i].ID == vm.ID {
			f.vms[i].Power = reconcile.PowerRunning
			return nil
		}
	}
	return errors.New("start: no such vm")
}

func (f *fakeProvider) Destroy(ctx context.Context, vm reconcile.VMRef) error {
	if err := f.enter("destroy", vm.Name); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vms = slices.DeleteFunc(f.vms, func(v reconcile.VM) bool { return v.ID == vm.ID })
	return nil
}

func (f *fakeProvider) callsOf(op string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if len(c) > len(op) && c[:len(op)+1] == op+" " {
			out = append(out, c[len(op)+1:])
		}
	}
	return out
}

// fakeBoxes is a BoxStore that has every box at once.
type fakeBoxes struct {
	mu     sync.Mutex
	cached []reconcile.BoxKey
}

func (b *fakeBoxes) List() ([]reconcile.BoxKey, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.cached), nil
}

func (b *fakeBoxes) Fetch(ctx context.Context, box reconcile.BoxSpec) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := reconcile.BoxKey{Name: box.Name, Version: box.Version}
	if !slices.Contains(b.cached, k) {
		b.cached = append(b.cached, k)
	}
	return "/cache/" + box.Name + "/" + box.Version, nil
}

func (b *fakeBoxes) Remove(name, version string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cached = slices.DeleteFunc(b.cached, func(k reconcile.BoxKey) bool { return k == reconcile.BoxKey{Name: name, Version: version} })
	return nil
}

// fakeJobs runs jobs in fake sandboxes: a job runs until the test releases it (by id) with a
// verdict, or until its context ends (then it is requeued, as the real sandbox does).
type fakeJobs struct {
	mu       sync.Mutex
	release  map[string]chan queue.State
	runs     []string // "<job id>@<vm>#<attempt>" per run started
	resets   []string
	started  chan string
	breakVMs map[string]bool // VMs whose next rollback fails
}

func newFakeJobs() *fakeJobs {
	return &fakeJobs{release: map[string]chan queue.State{}, started: make(chan string, 100), breakVMs: map[string]bool{}}
}

func (j *fakeJobs) ch(id string) chan queue.State {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := j.release[id]
	if c == nil {
		c = make(chan queue.State, 1)
		j.release[id] = c
	}
	return c
}

// finish lets job id end with state.
func (j *fakeJobs) finish(id string, st queue.State) { j.ch(id) <- st }

func (j *fakeJobs) New(vm reconcile.VM, pool *spec.Pool, _ sandbox.Queue, slot Slot) (Runner, error) {
	return &fakeRunner{j: j, vm: vm.Name, slot: slot}, nil
}

func (j *fakeJobs) runList() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.runs)
}

type fakeRunner struct {
	j    *fakeJobs
	vm   string
	slot Slot
}

func (r *fakeRunner) Reset(ctx context.Context) error {
	r.j.mu.Lock()
	r.j.resets = append(r.j.resets, r.vm)
	r.j.mu.Unlock()
	return nil
}

func (r *fakeRunner) Run(ctx context.Context, job *queue.Job) (sandbox.Outcome, error) {
	r.j.mu.Lock()
	r.j.runs = append(r.j.runs, fmt.Sprintf("%s@%s#%d", job.ID, r.vm, job.Attempt))
	brk := r.j.breakVMs[r.vm]
	r.j.mu.Unlock()
	r.j.started <- job.ID
	qctx := context.WithoutCancel(ctx)
	select {
	case st := <-r.j.ch(job.ID):
		res := queue.Result{State: st}
		if err := r.slot.Finish(qctx, job, res); err != nil {
			return sandbox.Outcome{}, err
		}
		if brk {
			return sandbox.Outcome{Result: res}, &sandbox.BrokenError{VM: r.vm, Step: "restore", Err: errors.New("disk gone")}
		}
		return sandbox.Outcome{Result: res}, nil
	case <-ctx.Done():
		if err := r.slot.Requeue(qctx, job); err != nil {
			return sandbox.Outcome{}, err
		}
		return sandbox.Outcome{Requeued: true, Err: ctx.Err()}, nil
	}
}
