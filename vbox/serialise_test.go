package vbox

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// gatedRunner blocks every call until the test lets it finish, and records concurrency.
type gatedRunner struct {
	mu       sync.Mutex
	cond     *sync.Cond
	inFlight int
	maxSeen  int
	calls    [][]string
	gate     chan struct{}
}

func newGatedRunner() *gatedRunner {
	g := &gatedRunner{gate: make(chan struct{})}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gatedRunner) run(ctx context.Context, args []string, _ io.Writer) (result, error) {
	g.mu.Lock()
	g.inFlight++
	g.maxSeen = max(g.maxSeen, g.inFlight)
	g.calls = append(g.calls, args)
	g.cond.Broadcast()
	g.mu.Unlock()
	select {
	case <-g.gate:
	case <-ctx.Done():
	}
	g.mu.Lock()
	g.inFlight--
	g.cond.Broadcast()
	g.mu.Unlock()
	return result{}, nil
}

// waitFor blocks until cond holds (checked under g.mu after every change) or the test's
// deadline is near.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	if dl, ok := t.Deadline(); ok && dl.Before(deadline) {
		deadline = dl.Add(-time.Second)
	}
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline, not standing in for it
	}
}

func TestMutationsOfOneVMAreSerialised(t *testing.T) {
	g := newGatedRunner()
	d := New(Config{MaxParallel: 4}, nil)
	d.run = g.run
	checkSerialised(t, d, g, vm, vm, vm)
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.vms) != 0 {
		t.Errorf("%d VM lock entries left after all calls, want 0", len(d.vms))
	}
}

// checkSerialised runs a mutation of first, holds it in VBoxManage (g's gate), starts a
// mutation of second, and checks that the second waits on the lock keyed key (it never
// reaches VBoxManage while the first runs) and that both then succeed.
func checkSerialised(t *testing.T, d *Driver, g *gatedRunner, first, second, key string) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- d.SetExtraData(ctx, first, "fleet/a", "1") })
	waitFor(t, "first call to run", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.inFlight == 1 })
	wg.Go(func() { errs <- d.SetExtraData(ctx, second, "fleet/b", "2") })
	waitFor(t, "second call to queue on the VM lock", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.vms[key] != nil && d.vms[key].refs == 2
	})
	g.mu.Lock()
	if len(g.calls) != 1 {
		t.Errorf("%d calls reached VBoxManage while the first was running, want 1", len(g.calls))
	}
	g.mu.Unlock()
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if g.maxSeen != 1 {
		t.Errorf("max concurrent calls on one VM = %d, want 1", g.maxSeen)
	}
}

func TestMaxParallelBoundsMutationsAcrossVMs(t *testing.T) {
	g := newGatedRunner()
	d := New(Config{MaxParallel: 2}, nil)
	d.run = g.run
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		wg.Go(func() {
			if err := d.Start(ctx, name); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, "two calls running and one queued", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.inFlight == 2 && d.Queued() == 1
	})
	g.mu.Lock()
	if len(g.calls) != 2 {
		t.Errorf("%d calls reached VBoxManage, want 2", len(g.calls))
	}
	g.mu.Unlock()
	close(g.gate)
	wg.Wait()
	if g.maxSeen != 2 || len(g.calls) != 3 {
		t.Errorf("max concurrent = %d over %d calls, want 2 over 3", g.maxSeen, len(g.calls))
	}
}

func TestReadsTakeNoMutationSlot(t *testing.T) {
	g := newGatedRunner()
	d := New(Config{MaxParallel: 1}, nil)
	d.run = g.run
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.Start(ctx, "a") })
	wg.Go(func() { _, _ = d.List(ctx) })
	wg.Go(func() { _, _ = d.ExtraData(ctx, "b") })
	waitFor(t, "a mutation and two reads running at once", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.inFlight == 3
	})
	close(g.gate)
	wg.Wait()
}

func TestLockWaitEndsWithTheContext(t *testing.T) {
	g := newGatedRunner()
	d := New(Config{}, nil)
	d.run = g.run
	var wg sync.WaitGroup
	defer func() { close(g.gate); wg.Wait() }()
	wg.Go(func() { _ = d.PowerOff(context.Background(), vm) })
	waitFor(t, "first call running", func() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.inFlight == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Start(ctx, vm); err == nil {
		t.Fatal("Start with a cancelled context succeeded while the VM was locked")
	}
}
