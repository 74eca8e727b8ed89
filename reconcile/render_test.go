package reconcile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleet-agent/fleet/spec"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// renderCases are the plans whose human and JSON forms are pinned in testdata.
func renderCases() []struct {
	name string
	plan Plan
} {
	ruby := poolSpec("ruby", 3, "2.0.0", provision("git"))
	ruby1 := ruby
	ruby1.VMs = 1
	rubyNew := poolSpec("ruby", 3, "2.0.0", provision("git", "rvm::multi"))
	rubyBox := poolSpec("ruby", 3, "2.1.0", provision("git"))
	withForeign := inventory(convergedVMs("2.0.0", ruby)...)
	withForeign.Foreign = []Foreign{{Name: "ruby-1", ID: "f00"}, {Name: "dev-box", ID: "f01", Owner: "build-02"}}
	legacy := poolSpec("legacy", 1, "2.0.0", nil)
	legacy.Spec = &spec.Pool{Name: "legacy", SSH: spec.PoolSSH{AllowPassword: true}}
	rejected := goldenVM(ruby1)
	rejected.Snapshots, rejected.Rejected = nil, "golden image not hardened: check password login to root@127.0.0.1:2222: password login accepted"
	replaceGolden := desiredOf("2.0.0", ruby1)
	replaceInv := inventory(convergedVMs("2.0.0", ruby1)...)
	ids, err := ResolveReplace(replaceGolden, replaceInv, TargetGolden+"ruby")
	if err != nil {
		panic(err)
	}
	replaceGolden.Replace = ids
	return []struct {
		name string
		plan Plan
	}{
		{"empty_host", Diff(desiredOf("2.1.0", rubyBox), inventory())},
		{"no_changes", Diff(desiredOf("2.0.0", ruby), withForeign)},
		{"recipes_changed_busy", Diff(desiredOf("2.0.0", rubyNew), inventory(boxVM("2.0.0"), goldenVM(ruby), workerVM(ruby, 1),
			workerVM(ruby, 2, func(v *VM) { v.Busy = true }), workerVM(ruby, 3)))},
		{"box_changed", Diff(desiredOf("2.1.0", rubyBox), inventory(convergedVMs("2.0.0", ruby)...))},
		{"scale_down_and_repair", Diff(desiredOf("2.0.0", ruby1), inventory(boxVM("2.0.0"), goldenVM(ruby),
			workerVM(ruby, 1, func(v *VM) { v.Power = PowerAborted }), workerVM(ruby, 2), workerVM(ruby, 3, func(v *VM) { v.Power = PowerStopped })))},
		// A golden that failed its hardening check is rebuilt with the reason; a pool allowing
		// SSH passwords is flagged unsafe in every plan, changes or not.
		{"rejected_golden_and_password_pool", Diff(desiredOf("2.0.0", ruby1, legacy), inventory(boxVM("2.0.0"), rejected,
			goldenVM(legacy), workerVM(legacy, 1)))},
		// agent plan -replace=golden.ruby: the golden is rebuilt beside the old one, its worker
		// rolled onto it, shown as one golden replacement.
		{"replace_golden_requested", Diff(replaceGolden, replaceInv)},
		{"password_pool_no_changes", Diff(desiredOf("2.0.0", legacy), inventory(convergedVMs("2.0.0", legacy)...))},
	}
}

// TestRenderGolden pins the human output (without colour) of representative plans.
func TestRenderGolden(t *testing.T) {
	for _, c := range renderCases() {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, c.plan, RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", c.name+".golden"), b.Bytes())
		})
	}
}

// TestRenderJSONGolden pins the documented JSON form and checks it reads back to the same plan.
func TestRenderJSONGolden(t *testing.T) {
	for _, c := range renderCases() {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.MarshalIndent(c.plan, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", c.name+".json"), append(b, '\n'))
			var back Plan
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.plan, back, cmp.Comparer(func(a, b []Foreign) bool { return len(a) == len(b) })); diff != "" {
				t.Errorf("JSON round trip changed the plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderColorOnlyWhenAsked(t *testing.T) {
	p := renderCases()[0].plan
	tests := []struct {
		name  string
		color bool
		want  bool
	}{
		{"plain", false, false},
		{"color", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, p, RenderOptions{Color: tt.color}); err != nil {
				t.Fatal(err)
			}
			if got := bytes.Contains(b.Bytes(), []byte("\x1b[")); got != tt.want {
				t.Errorf("ANSI escapes present = %v, want %v:\n%s", got, tt.want, b.String())
			}
		})
	}
}

func TestPlanJSONRejectsUnknownFormat(t *testing.T) {
	var p Plan
	if err := json.Unmarshal([]byte(`{"format_version": 2, "actions": []}`), &p); err == nil {
		t.Error("format_version 2 accepted; want an error")
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}
