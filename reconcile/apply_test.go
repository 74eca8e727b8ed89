package reconcile

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-multierror"
)

func applier(f *fakeProvider) *Applier {
	return &Applier{Provider: f, Boxes: &fakeBoxes{}, MaxParallel: 4, RetryBase: time.Millisecond}
}

// TestApplyConverges applies the plan of each scenario and checks a fresh Diff is empty.
func TestApplyConverges(t *testing.T) {
	ruby := poolSpec("ruby", 3, "2.0.0", provision("git"))
	ruby1 := ruby
	ruby1.VMs = 1
	rubyNew := poolSpec("ruby", 3, "2.0.0", provision("git", "rvm::multi"))
	rubyBox := poolSpec("ruby", 3, "2.1.0", provision("git"))
	tests := []struct {
		name    string
		desired Desired
		vms     []VM
	}{
		{"empty host to 3", desiredOf("2.0.0", ruby), nil},
		{"recipes changed", desiredOf("2.0.0", rubyNew), convergedVMs("2.0.0", ruby)},
		{"box changed", desiredOf("2.1.0", rubyBox), convergedVMs("2.0.0", ruby)},
		{"3 to 1", desiredOf("2.0.0", ruby1), convergedVMs("2.0.0", ruby)},
		{"stopped and aborted", desiredOf("2.0.0", ruby), []VM{boxVM("2.0.0"), goldenVM(ruby),
			workerVM(ruby, 1, func(v *VM) { v.Power = PowerStopped }), workerVM(ruby, 2, func(v *VM) { v.Power = PowerAborted })}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(tt.vms...)
			plan := Diff(tt.desired, f.inventory())
			if plan.Empty() {
				t.Fatal("scenario starts converged; it proves nothing")
			}
			if err := applier(f).Apply(context.Background(), tt.desired, plan); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if after := Diff(tt.desired, f.inventory()); !after.Empty() {
				t.Errorf("not converged after apply: %v", brief(after))
			}
		})
	}
}

// TestApplyOrder checks dependencies are honoured: destroys before creates, the golden before
// the workers cloned from it, replacements one at a time.
func TestApplyOrder(t *testing.T) {
	ruby := poolSpec("ruby", 2, "2.0.0", provision("git"))
	rubyNew := poolSpec("ruby", 2, "2.0.0", provision("git", "rvm"))
	node := poolSpec("node", 1, "2.0.0", nil)
	d := desiredOf("2.0.0", rubyNew, node)
	f := newFake(append(convergedVMs("2.0.0", ruby), workerVM(ruby, 3))...)
	if err := applier(f).Apply(context.Background(), d, Diff(d, f.inventory())); err != nil {
		t.Fatal(err)
	}
	pos := func(call string) int {
		i := slices.Index(f.calls, call)
		if i < 0 {
			t.Fatalf("no call %q in %v", call, f.calls)
		}
		return i
	}
	gNew, gNode := GoldenName("ruby", rubyNew.Hash), GoldenName("node", node.Hash)
	before := [][2]string{
		{"destroy ruby-3", "create node-1"},
		{"build " + gNode, "create node-1"},
		{"build " + gNew, "destroy ruby-1"},
		{"create ruby-1", "destroy ruby-2"},
		{"create ruby-2", "destroy " + GoldenName("ruby", ruby.Hash)},
	}
	for _, b := range before {
		if pos(b[0]) > pos(b[1]) {
			t.Errorf("%q ran after %q: %v", b[0], b[1], f.calls)
		}
	}
}

// TestApplyBoundsParallelism holds every call in flight and checks exactly MaxParallel run at
// once, never more.
func TestApplyBoundsParallelism(t *testing.T) {
	ruby := poolSpec("ruby", 8, "2.0.0", nil)
	d := desiredOf("2.0.0", ruby)
	f := newFake(boxVM("2.0.0"), goldenVM(ruby))
	f.gate = make(chan struct{})
	ap := applier(f)
	ap.MaxParallel = 3
	done := make(chan error, 1)
	go func() { done <- ap.Apply(context.Background(), d, Diff(d, f.inventory())) }()
	deadline := time.Now().Add(10 * time.Second)
	for released := 0; released < 8; {
		f.mu.Lock()
		running := f.running
		f.mu.Unlock()
		if running == 3 || (released >= 6 && running == 8-released) {
			f.gate <- struct{}{}
			released++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d calls in flight after %d released", running, released)
		}
		time.Sleep(time.Millisecond) // polling the condition, not standing in for it
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f.peak != 3 {
		t.Errorf("peak parallel calls = %d, want 3", f.peak)
	}
}

// TestApplyFailures checks retries of transient errors, permanent failures reported together,
// dependents skipped and independent work completed.
func TestApplyFailures(t *testing.T) {
	errBoom := errors.New("boom")
	ruby := poolSpec("ruby", 3, "2.0.0", nil)
	node := poolSpec("node", 2, "2.0.0", nil)
	d := desiredOf("2.0.0", ruby, node)
	tests := []struct {
		name        string
		fail        map[string][]error
		wantErrs    []string // action IDs in the returned error
		wantCreated []string // workers present after apply
		wantRetries int
		wantSkipped int
	}{
		{
			name:        "transient errors are retried until success",
			fail:        map[string][]error{"create ruby-1": {Transient(errBoom), Transient(errBoom)}},
			wantCreated: []string{"node-1", "node-2", "ruby-1", "ruby-2", "ruby-3"},
			wantRetries: 2,
		},
		{
			name:        "transient errors beyond the retries fail the action",
			fail:        map[string][]error{"create ruby-1": {Transient(errBoom), Transient(errBoom), Transient(errBoom), Transient(errBoom)}},
			wantErrs:    []string{"create_worker/ruby-1"},
			wantCreated: []string{"node-1", "node-2", "ruby-2", "ruby-3"},
			wantRetries: 3,
		},
		{
			name:        "permanent errors are reported together and independent work completes",
			fail:        map[string][]error{"create ruby-1": {errBoom}, "create node-2": {errBoom}},
			wantErrs:    []string{"create_worker/node-2", "create_worker/ruby-1"},
			wantCreated: []string{"node-1", "ruby-2", "ruby-3"},
		},
		{
			name:        "a failed golden skips its workers only",
			fail:        map[string][]error{"build " + GoldenName("node", node.Hash): {errBoom}},
			wantErrs:    []string{"build_golden/" + GoldenName("node", node.Hash)},
			wantCreated: []string{"ruby-1", "ruby-2", "ruby-3"},
			wantSkipped: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(boxVM("2.0.0"), goldenVM(ruby))
			f.fail = tt.fail
			ap := applier(f)
			var mu sync.Mutex
			count := map[EventType]int{}
			ap.OnEvent = func(e Event) { mu.Lock(); count[e.Type]++; mu.Unlock() }
			err := ap.Apply(context.Background(), d, Diff(d, f.inventory()))
			var got []string
			var me *multierror.Error
			if errors.As(err, &me) {
				for _, e := range me.Errors {
					if !errors.Is(e, errBoom) {
						t.Errorf("error %v does not wrap the cause", e)
					}
					got = append(got, e.Error()[:len(e.Error())-len(": boom")])
				}
			} else if err != nil {
				t.Fatalf("error %T is not a *multierror.Error", err)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.wantErrs, got); diff != "" {
				t.Errorf("failed actions (-want +got):\n%s", diff)
			}
			var created []string
			for _, v := range f.vms {
				if v.Role == RoleWorker {
					created = append(created, v.Name)
				}
			}
			slices.Sort(created)
			if diff := cmp.Diff(tt.wantCreated, created); diff != "" {
				t.Errorf("workers (-want +got):\n%s", diff)
			}
			if count[EventRetry] != tt.wantRetries || count[EventSkipped] != tt.wantSkipped {
				t.Errorf("retries %d skipped %d, want %d and %d", count[EventRetry], count[EventSkipped], tt.wantRetries, tt.wantSkipped)
			}
		})
	}
}

// TestApplySkipsWaitingActions checks a busy worker is left alone and reported as waiting.
func TestApplySkipsWaitingActions(t *testing.T) {
	ruby := poolSpec("ruby", 2, "2.0.0", provision("git"))
	ruby1 := ruby
	ruby1.VMs = 1
	d := desiredOf("2.0.0", ruby1)
	f := newFake(convergedVMs("2.0.0", ruby)...)
	inv := f.inventory()
	inv.Mark([]string{"ruby-2"}, nil, nil, nil)
	var waiting []string
	ap := applier(f)
	ap.OnEvent = func(e Event) {
		if e.Type == EventWaiting {
			waiting = append(waiting, e.Action.ID)
		}
	}
	if err := ap.Apply(context.Background(), d, Diff(d, inv)); err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 0 || !slices.Equal(waiting, []string{"destroy_worker/ruby-2"}) {
		t.Errorf("calls %v, waiting %v; want no call and destroy_worker/ruby-2 waiting", f.calls, waiting)
	}
}

// TestConvergeRecoversFromFailures checks a permanent failure in the first pass is retried by
// the next pass from a fresh observation, and reported.
func TestConvergeRecoversFromFailures(t *testing.T) {
	ruby := poolSpec("ruby", 2, "2.0.0", nil)
	d := desiredOf("2.0.0", ruby)
	f := newFake(boxVM("2.0.0"), goldenVM(ruby))
	f.fail = map[string][]error{"create ruby-2": {errors.New("clone failed")}}
	observe := func(ctx context.Context) (Inventory, error) { return f.inventory(), nil }
	res, err := applier(f).Converge(context.Background(), d, observe, nil, 0)
	if err != nil {
		t.Fatalf("Converge: %v", err)
	}
	if res.Passes != 2 || len(res.Failures) != 1 || !res.Final.Empty() {
		t.Errorf("passes %d, failures %v, final %v; want 2 passes, 1 failure, empty plan", res.Passes, res.Failures, brief(res.Final))
	}
}

// TestConvergeGivesUp checks an action that always fails ends Converge with its error after
// the pass limit.
func TestConvergeGivesUp(t *testing.T) {
	ruby := poolSpec("ruby", 1, "2.0.0", nil)
	d := desiredOf("2.0.0", ruby)
	f := newFake(boxVM("2.0.0"), goldenVM(ruby))
	boom := errors.New("clone failed")
	f.fail = map[string][]error{"create ruby-1": {boom, boom, boom}}
	observe := func(ctx context.Context) (Inventory, error) { return f.inventory(), nil }
	res, err := applier(f).Converge(context.Background(), d, observe, nil, 3)
	if !errors.Is(err, boom) || res.Passes != 3 {
		t.Errorf("err %v after %d passes; want the clone failure after 3", err, res.Passes)
	}
}

// TestApplyStopsOnCancel checks a cancelled context ends Apply with the context's error and
// leaves no goroutine running.
func TestApplyStopsOnCancel(t *testing.T) {
	ruby := poolSpec("ruby", 4, "2.0.0", nil)
	d := desiredOf("2.0.0", ruby)
	f := newFake(boxVM("2.0.0"), goldenVM(ruby))
	f.gate = make(chan struct{}) // never released: calls end only by cancellation
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- applier(f).Apply(ctx, d, Diff(d, f.inventory())) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		n := f.running
		f.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no call started")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Apply after cancel = %v, want context.Canceled", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running != 0 {
		t.Errorf("%d calls still running after Apply returned", f.running)
	}
}
