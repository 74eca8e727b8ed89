package reconcile

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// replaceFixture is a converged host with three ruby workers and a foreign VM.
func replaceFixture() (Desired, Inventory, PoolSpec) {
	ruby := poolSpec("ruby", 3, "2.0.0", provision("git"))
	d := desiredOf("2.0.0", ruby)
	inv := inventory(convergedVMs("2.0.0", ruby)...)
	inv.Foreign = []Foreign{{Name: "ruby-9", ID: "f-1", Owner: "build-02"}, {Name: "hand-made", ID: "f-2"}}
	return d, inv, ruby
}

func TestResolveReplace(t *testing.T) {
	d, inv, ruby := replaceFixture()
	golden := "id-" + GoldenName("ruby", ruby.Hash)
	workers := []string{"id-ruby-1", "id-ruby-2", "id-ruby-3"}
	valid := []string{"ruby-1", "ruby-2", "ruby-3", "golden.ruby", "box.lucid32"}
	tests := []struct {
		name    string
		target  string
		want    []string
		wantErr error
		valid   []string
	}{
		{name: "a worker is itself", target: "ruby-2", want: []string{"id-ruby-2"}},
		{name: "a golden cascades to its workers", target: "golden.ruby", want: append([]string{golden}, workers...)},
		{name: "a box cascades to goldens and workers", target: "box.lucid32",
			want: append([]string{"id-" + BoxVMName("lucid32", "2.0.0"), golden}, workers...)},
		{name: "an unknown worker lists the valid targets", target: "ruby-7", wantErr: ErrUnknownTarget, valid: valid},
		{name: "an unknown pool lists the valid targets", target: "golden.python", wantErr: ErrUnknownTarget, valid: valid},
		{name: "an unknown box lists the valid targets", target: "box.precise64", wantErr: ErrUnknownTarget, valid: valid},
		{name: "another agent's VM is refused", target: "ruby-9", wantErr: ErrForeignTarget},
		{name: "an unmanaged VM is refused", target: "hand-made", wantErr: ErrForeignTarget},
		{name: "a golden VM is not a worker", target: GoldenName("ruby", ruby.Hash), wantErr: ErrUnknownTarget, valid: valid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveReplace(d, inv, tt.target)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ResolveReplace(%q) error = %v, want %v", tt.target, err, tt.wantErr)
			}
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ResolveReplace(%q) IDs (-want +got):\n%s", tt.target, diff)
			}
			var te *TargetError
			if errors.As(err, &te) {
				if diff := cmp.Diff(tt.valid, te.Valid); diff != "" {
					t.Errorf("valid targets (-want +got):\n%s", diff)
				}
				if !strings.HasPrefix(err.Error(), tt.target+": ") {
					t.Errorf("error %q does not start with the target", err)
				}
			}
		})
	}
}

// TestTargetErrorText pins the messages an operator reads.
func TestTargetErrorText(t *testing.T) {
	_, inv, _ := replaceFixture()
	_, err := inv.Worker("ruby-7")
	if got, want := err.Error(), "ruby-7: unknown target; valid targets: ruby-1, ruby-2, ruby-3"; got != want {
		t.Errorf("unknown worker:\n got %q\nwant %q", got, want)
	}
	_, err = inv.Worker("ruby-9")
	if got, want := err.Error(), `ruby-9: VM not owned by this agent (it belongs to "build-02"); refusing to touch it`; got != want {
		t.Errorf("foreign worker:\n got %q\nwant %q", got, want)
	}
}

func TestDiffReplace(t *testing.T) {
	d, inv, ruby := replaceFixture()
	golden := GoldenName("ruby", ruby.Hash)
	gen2 := GoldenGenName("ruby", ruby.Hash, 2)
	box := BoxVMName("lucid32", "2.0.0")
	resolve := func(target string) []string {
		ids, err := ResolveReplace(d, inv, target)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	tests := []struct {
		name    string
		replace []string
		mark    func(*Inventory)
		want    []string
	}{
		{name: "nothing requested", want: nil},
		{name: "a worker is replaced in place", replace: resolve("ruby-2"),
			want: []string{"replace_worker ruby-2"}},
		{name: "a busy worker waits for its job", replace: resolve("ruby-2"),
			mark: func(inv *Inventory) { inv.Mark([]string{"ruby-2"}, nil, nil, nil) },
			want: []string{"replace_worker ruby-2 (waiting: busy with a job)"}},
		{name: "a stopped worker is replaced, not started", replace: resolve("ruby-1"),
			mark: func(inv *Inventory) { inv.VMs[2].Power = PowerStopped },
			want: []string{"replace_worker ruby-1"}},
		{name: "a golden is rebuilt beside the old one and workers roll one by one", replace: resolve("golden.ruby"),
			want: []string{
				"build_golden " + gen2,
				"replace_worker ruby-1 <- build_golden/" + gen2,
				"replace_worker ruby-2 <- build_golden/" + gen2 + ",replace_worker/ruby-1",
				"replace_worker ruby-3 <- build_golden/" + gen2 + ",replace_worker/ruby-2",
				"collect_golden " + golden + " <- replace_worker/ruby-1,replace_worker/ruby-2,replace_worker/ruby-3",
			}},
		{name: "a box is imported again before its goldens are rebuilt", replace: resolve("box.lucid32"),
			want: []string{
				"replace_box " + box,
				"build_golden " + gen2 + " <- replace_box/" + box,
				"replace_worker ruby-1 <- build_golden/" + gen2,
				"replace_worker ruby-2 <- build_golden/" + gen2 + ",replace_worker/ruby-1",
				"replace_worker ruby-3 <- build_golden/" + gen2 + ",replace_worker/ruby-2",
				"collect_golden " + golden + " <- replace_worker/ruby-1,replace_worker/ruby-2,replace_worker/ruby-3",
			}},
		{name: "IDs no longer observed are done", replace: []string{"id-gone-1", "id-gone-2"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := d
			d.Replace = tt.replace
			inv := inventory(slices.Clone(inv.VMs)...)
			if tt.mark != nil {
				tt.mark(&inv)
			}
			plan := Diff(d, inv)
			if diff := cmp.Diff(tt.want, brief(plan)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			for _, a := range plan.Actions {
				if a.Kind != KindCollectGolden && a.Reason != ReasonReplace {
					t.Errorf("%s: reason %q, want %q", a.ID, a.Reason, ReasonReplace)
				}
				if a.Kind == KindReplaceWorker && len(tt.replace) > 1 && a.Golden != gen2 {
					t.Errorf("%s clones from %q, want %q", a.ID, a.Golden, gen2)
				}
			}
		})
	}
}

// TestApplyReplaceConverges applies each replacement until the plan is empty and checks every
// VM named by the request is gone, the new workers are linked to the new golden and nothing
// else changed.
func TestApplyReplaceConverges(t *testing.T) {
	tests := []struct {
		target      string
		wantGolden  string // the golden new workers clone from, "" when none is built
		wantRemoved []BoxKey
	}{
		{target: "ruby-3"},
		{target: "golden.ruby", wantGolden: "gen2"},
		{target: "box.lucid32", wantGolden: "gen2", wantRemoved: []BoxKey{{"lucid32", "2.0.0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			d, _, ruby := replaceFixture()
			f := newFake(convergedVMs("2.0.0", ruby)...)
			ids, err := ResolveReplace(d, f.inventory(), tt.target)
			if err != nil {
				t.Fatal(err)
			}
			d.Replace = ids
			ap := applier(f)
			boxes := ap.Boxes.(*fakeBoxes)
			observe := func(context.Context) (Inventory, error) { return f.inventory(), nil }
			if _, err := ap.Converge(context.Background(), d, observe, nil, 0); err != nil {
				t.Fatal(err)
			}
			inv := f.inventory()
			if p := Diff(d, inv); !p.Empty() {
				t.Fatalf("plan after converging: %v", brief(p))
			}
			for _, v := range inv.VMs {
				if slices.Contains(ids, v.ID) {
					t.Errorf("%s (%s) still there after its replacement", v.Name, v.ID)
				}
			}
			if got := inv.Workers(); !slices.Equal(got, []string{"ruby-1", "ruby-2", "ruby-3"}) {
				t.Errorf("workers after replacement = %v", got)
			}
			if tt.wantGolden != "" {
				gen2 := GoldenGenName("ruby", ruby.Hash, 2)
				for w, g := range f.clonedFrom {
					if g != gen2 {
						t.Errorf("%s cloned from %q, want %q", w, g, gen2)
					}
				}
				d.Replace = nil
				if p := Diff(d, inv); !p.Empty() {
					t.Errorf("plan without the request after converging: %v", brief(p))
				}
			}
			if diff := cmp.Diff(tt.wantRemoved, boxes.removed); diff != "" {
				t.Errorf("boxes removed from the cache (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoldenGen(t *testing.T) {
	h := ImageHash(Image{Box: "lucid32"})
	tests := []struct {
		name string
		vm   string
		want int
	}{
		{name: "first generation", vm: GoldenName("ruby", h), want: 1},
		{name: "rebuilt", vm: GoldenGenName("ruby", h, 2), want: 2},
		{name: "rebuilt often", vm: GoldenGenName("ruby", h, 17), want: 17},
		{name: "generation one is never spelled out", vm: GoldenName("ruby", h) + "-r1", want: 0},
		{name: "leading zero", vm: GoldenName("ruby", h) + "-r02", want: 0},
		{name: "another pool", vm: GoldenName("python", h), want: 0},
		{name: "junk suffix", vm: GoldenName("ruby", h) + "-rx", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := goldenGen(&VM{Name: tt.vm, Pool: "ruby", Image: h}); got != tt.want {
				t.Errorf("goldenGen(%q) = %d, want %d", tt.vm, got, tt.want)
			}
		})
	}
}

// FuzzGoldenGen: any name parses to 0 or to a generation whose name is that name.
func FuzzGoldenGen(f *testing.F) {
	h := ImageHash(Image{Box: "lucid32"})
	f.Add(GoldenName("ruby", h))
	f.Add(GoldenGenName("ruby", h, 3))
	f.Add(GoldenName("ruby", h) + "-r")
	f.Fuzz(func(t *testing.T, name string) {
		g := goldenGen(&VM{Name: name, Pool: "ruby", Image: h})
		if g != 0 && GoldenGenName("ruby", h, g) != name {
			t.Fatalf("goldenGen(%q) = %d, which is named %q", name, g, GoldenGenName("ruby", h, g))
		}
	})
}

// FuzzResolveReplace: any target is refused with a TargetError or resolves to observed IDs.
func FuzzResolveReplace(f *testing.F) {
	d, inv, _ := replaceFixture()
	observed := map[string]bool{}
	for _, v := range inv.VMs {
		observed[v.ID] = true
	}
	for _, s := range []string{"ruby-1", "golden.ruby", "box.lucid32", "box.", "golden.", "ruby-9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		ids, err := ResolveReplace(d, inv, target)
		var te *TargetError
		if err != nil {
			if !errors.As(err, &te) || len(ids) != 0 {
				t.Fatalf("ResolveReplace(%q) = %v, %v", target, ids, err)
			}
			return
		}
		if len(ids) == 0 {
			t.Fatalf("ResolveReplace(%q) resolved to nothing without an error", target)
		}
		for _, id := range ids {
			if !observed[id] {
				t.Fatalf("ResolveReplace(%q) returned unobserved ID %q", target, id)
			}
		}
	})
}

// BenchmarkDiffReplaceGolden measures a pass's Diff while a golden of a 50-worker pool is
// being replaced: resolution once, then Diff with the request.
func BenchmarkDiffReplaceGolden(b *testing.B) {
	ruby := poolSpec("ruby", 50, "2.0.0", provision("git"))
	d := desiredOf("2.0.0", ruby)
	inv := inventory(convergedVMs("2.0.0", ruby)...)
	ids, err := ResolveReplace(d, inv, "golden.ruby")
	if err != nil {
		b.Fatal(err)
	}
	d.Replace = ids
	b.ReportAllocs()
	for b.Loop() {
		Diff(d, inv)
	}
}
