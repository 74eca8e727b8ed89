package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleet-agent/fleet/qemu"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
)

// recorder is a provider that records the calls routed to it and owns the VM IDs in has.
type recorder struct {
	name  string
	calls *[]string
	inv   reconcile.Inventory
	has   map[string]bool
}

func (r *recorder) rec(op, target string) error {
	*r.calls = append(*r.calls, r.name+" "+op+" "+target)
	return nil
}
func (r *recorder) Observe(context.Context) (reconcile.Inventory, error) { return r.inv, nil }
func (r *recorder) ImportBox(_ context.Context, q reconcile.ImportRequest) error {
	return r.rec("import", q.Name)
}
func (r *recorder) BuildGolden(_ context.Context, q reconcile.GoldenRequest) error {
	return r.rec("golden", q.Name)
}
func (r *recorder) CreateWorker(_ context.Context, q reconcile.WorkerRequest) error {
	return r.rec("create", q.Name)
}
func (r *recorder) StartWorker(_ context.Context, vm reconcile.VMRef) error {
	return r.rec("start", vm.Name)
}
func (r *recorder) Destroy(_ context.Context, vm reconcile.VMRef) error {
	return r.rec("destroy", vm.Name)
}
func (r *recorder) Has(vm reconcile.VMRef) bool                     { return r.has[vm.ID] }
func (r *recorder) UsedPorts(context.Context) (map[int]bool, error) { return nil, nil }
func (r *recorder) VM(string) *qemu.VM                              { return nil }

// TestHostProvidersRoute proves each call of a mixed host reaches the provider of its box
// format, pool or VM, and that a provider the host lacks is a clear error, not a wrong call.
func TestHostProvidersRoute(t *testing.T) {
	vboxPool := &spec.Pool{Name: "ruby", Provider: spec.ProviderVirtualBox}
	qemuPool := &spec.Pool{Name: "q", Provider: spec.ProviderQEMU}
	qemuBox := &spec.Box{Name: "tiny", Format: spec.BoxFormatQEMU}
	vagrantBox := &spec.Box{Name: "lucid32", Format: spec.BoxFormatVagrant}
	calls := func(h *hostProviders) error {
		ctx := context.Background()
		return errors.Join(
			h.ImportBox(ctx, reconcile.ImportRequest{Name: "box-tiny", Box: reconcile.BoxSpec{Spec: qemuBox}}),
			h.ImportBox(ctx, reconcile.ImportRequest{Name: "box-lucid32", Box: reconcile.BoxSpec{Spec: vagrantBox}}),
			h.BuildGolden(ctx, reconcile.GoldenRequest{Name: "golden-q", Pool: reconcile.PoolSpec{Spec: qemuPool}}),
			h.BuildGolden(ctx, reconcile.GoldenRequest{Name: "golden-ruby", Pool: reconcile.PoolSpec{Spec: vboxPool}}),
			h.CreateWorker(ctx, reconcile.WorkerRequest{Name: "q-1", Pool: reconcile.PoolSpec{Spec: qemuPool}}),
			h.CreateWorker(ctx, reconcile.WorkerRequest{Name: "ruby-1", Pool: reconcile.PoolSpec{Spec: vboxPool}}),
			h.StartWorker(ctx, reconcile.VMRef{Name: "q-1", ID: "q-1@0123456789abcdef"}),
			h.StartWorker(ctx, reconcile.VMRef{Name: "ruby-1", ID: "5f3e7c1a-uuid"}),
			h.Destroy(ctx, reconcile.VMRef{Name: "q-2", ID: "q-2"}),
			h.Destroy(ctx, reconcile.VMRef{Name: "ruby-2", ID: "0a1b-uuid"}),
		)
	}
	t.Run("mixed host", func(t *testing.T) {
		var got []string
		h := &hostProviders{
			vbox: &recorder{name: "vbox", calls: &got},
			qemu: &recorder{name: "qemu", calls: &got, has: map[string]bool{"q-1@0123456789abcdef": true, "q-2": true}},
		}
		if err := calls(h); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"qemu import box-tiny", "vbox import box-lucid32", "qemu golden golden-q", "vbox golden golden-ruby",
			"qemu create q-1", "vbox create ruby-1", "qemu start q-1", "vbox start ruby-1",
			"qemu destroy q-2", "vbox destroy ruby-2",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("routed calls (-want +got):\n%s", diff)
		}
	})
	t.Run("qemu only host refuses virtualbox work", func(t *testing.T) {
		var got []string
		h := &hostProviders{qemu: &recorder{name: "qemu", calls: &got, has: map[string]bool{"q-1@0123456789abcdef": true, "q-2": true}}}
		err := calls(h)
		if !errors.Is(err, errNoProvider) {
			t.Fatalf("err = %v, want errNoProvider", err)
		}
		want := []string{"qemu import box-tiny", "qemu golden golden-q", "qemu create q-1", "qemu start q-1", "qemu destroy q-2"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("routed calls (-want +got):\n%s", diff)
		}
	})
}

// TestHostProvidersObserveMerges proves one inventory holds both providers' VMs.
func TestHostProvidersObserveMerges(t *testing.T) {
	var calls []string
	h := &hostProviders{
		vbox: &recorder{name: "vbox", calls: &calls, inv: reconcile.Inventory{Owner: "h", VMs: []reconcile.VM{{Name: "ruby-1"}},
			Foreign: []reconcile.Foreign{{Name: "theirs"}}}},
		qemu: &recorder{name: "qemu", calls: &calls, inv: reconcile.Inventory{Owner: "h", VMs: []reconcile.VM{{Name: "q-1"}}}},
	}
	inv, err := h.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := reconcile.Inventory{Owner: "h", VMs: []reconcile.VM{{Name: "ruby-1"}, {Name: "q-1"}}, Foreign: []reconcile.Foreign{{Name: "theirs"}}}
	if diff := cmp.Diff(want, inv); diff != "" {
		t.Errorf("Observe (-want +got):\n%s", diff)
	}
}

// TestOpenProvidersWiresWhatThePoolsUse proves a host's providers follow its pools: a qemu-only
// fleet on a host without VBoxManage gets no VirtualBox provider (observing it would fail).
func TestOpenProvidersWiresWhatThePoolsUse(t *testing.T) {
	state := t.TempDir()
	f := &spec.Fleet{
		Host:       spec.Host{Name: "h", StateDir: state},
		VirtualBox: spec.VirtualBox{Manage: filepath.Join(state, "no-VBoxManage"), SSHPortRange: [2]int{2200, 2999}},
		QEMU:       spec.QEMU{Binary: filepath.Join(state, "no-qemu"), Accel: "tcg"},
	}
	tests := []struct {
		name            string
		providers       []string
		wantVBox, wantQ bool
	}{
		{"qemu pool only", []string{spec.ProviderQEMU}, false, true},
		{"virtualbox pool only", []string{spec.ProviderVirtualBox}, true, false},
		{"both", []string{spec.ProviderQEMU, spec.ProviderVirtualBox}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(state, "qemu"))
			f.Pools = nil
			for _, p := range tt.providers {
				f.Pools = append(f.Pools, &spec.Pool{Name: p, Provider: p})
			}
			h, err := openProviders(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if gotV, gotQ := h.vbox != nil, h.qemu != nil; gotV != tt.wantVBox || gotQ != tt.wantQ {
				t.Errorf("wired virtualbox=%v qemu=%v, want %v %v", gotV, gotQ, tt.wantVBox, tt.wantQ)
			}
		})
	}
}
