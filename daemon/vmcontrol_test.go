package daemon

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/reconcile"
)

// TestDrainedWorkerIsOutOfServiceForRollouts: with max_unavailable 1 and ruby-2 drained by an
// operator, a new box version replaces ruby-2 at once (it serves nothing) but no serving
// worker, since ruby-2 already uses the budget; once ruby-2 is resumed the rollout goes on.
// The drain survives an agent restart.
func TestDrainedWorkerIsOutOfServiceForRollouts(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 3, maxUnavail: 1})
	h.start()
	h.until("three workers", workersNamed("ruby-1", "ruby-2", "ruby-3"))
	if err := h.d.DrainVMs([]string{"ruby-2"}, control.DrainRequest{}); err != nil {
		t.Fatal(err)
	}
	st := h.until("ruby-2 drained", workersNamed("ruby-1", "ruby-3"))
	if v := vmByName(st, "ruby-2"); !v.Drained || v.State != "drained" || v.Why != "drained by operator" {
		t.Errorf("ruby-2 status = %+v, want drained", v)
	}
	old := vmByName(st, "ruby-1").Image

	h.write(fleetSrc{vms: 3, maxUnavail: 1, version: "2.1.0"})
	st = h.until("ruby-2 replaced, the others held", func(st control.Status) bool {
		v := vmByName(st, "ruby-2")
		held := 0
		for _, w := range st.Reconcile.Waiting {
			if strings.HasPrefix(w, "replace_worker/ruby-1") || strings.HasPrefix(w, "replace_worker/ruby-3") {
				held++
			}
		}
		return v != nil && v.Image != old && v.Worker != "" && held == 2
	})
	if got := serving(st); !slices.Equal(got, []string{"ruby-1", "ruby-3"}) {
		t.Errorf("serving %v during the rollout, want ruby-1 and ruby-3 (ruby-2 drained)", got)
	}
	if !vmByName(st, "ruby-2").Drained {
		t.Error("the recreated ruby-2 is not drained any more")
	}

	h.stop()
	h.start()
	h.until("ruby-2 still drained after a restart", func(st control.Status) bool {
		v := vmByName(st, "ruby-2")
		return v != nil && v.Drained && v.Worker != "" && !v.Serving
	})
	if err := h.d.ResumeVMs([]string{"ruby-2"}); err != nil {
		t.Fatal(err)
	}
	h.until("all replaced and serving", func(st control.Status) bool {
		for _, v := range st.VMs {
			if v.Role == reconcile.RoleWorker && (v.Image == old || !v.Serving) {
				return false
			}
		}
		return len(serving(st)) == 3
	})
	h.stop()
}

// TestVMControlsRefuseBadNames: unknown names are answered with the valid workers and change
// nothing; nothing is persisted.
func TestVMControlsRefuseBadNames(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 2})
	h.start()
	h.until("two workers", workersNamed("ruby-1", "ruby-2"))
	calls := []struct {
		name string
		call func() error
	}{
		{"drain", func() error { return h.d.DrainVMs([]string{"ruby-1", "ruby-5"}, control.DrainRequest{}) }},
		{"resume", func() error { return h.d.ResumeVMs([]string{"ruby-5"}) }},
		{"restart", func() error { return h.d.Restart([]string{"ruby-5"}, true) }},
		{"replace", func() error { return h.d.Replace("golden.python") }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var te *reconcile.TargetError
			if !errors.Is(err, reconcile.ErrUnknownTarget) || !errors.As(err, &te) || !slices.Contains(te.Valid, "ruby-1") {
				t.Fatalf("err = %v, want ErrUnknownTarget listing ruby-1", err)
			}
		})
	}
	st, err := LoadOperatorState(h.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(OperatorState{}, st); diff != "" {
		t.Errorf("operator state after refused calls (-want +got):\n%s", diff)
	}
	if got := serving(h.d.Status()); !slices.Equal(got, []string{"ruby-1", "ruby-2"}) {
		t.Errorf("serving %v after refused calls", got)
	}
	h.stop()
}

// TestReplaceRequestIsKeptUntilDone: a worker replacement is persisted while pending and
// dropped once the VM it named is gone.
func TestReplaceRequestIsKeptUntilDone(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	h.start()
	h.until("one worker", workersNamed("ruby-1"))
	h.submit("rq-1")
	h.started()
	if err := h.d.Replace("ruby-1"); err != nil {
		t.Fatal(err)
	}
	st, err := LoadOperatorState(h.stateDir)
	if err != nil || len(st.Replace) != 1 || st.Replace[0].Target != "ruby-1" || len(st.Replace[0].IDs) != 1 {
		t.Fatalf("persisted request = %+v, %v; want one for ruby-1", st, err)
	}
	if got := h.d.Status().Replacing; !slices.Equal(got, []string{"ruby-1 (1 VMs left)"}) {
		t.Errorf("status replacing = %v", got)
	}
	h.jobs.finish("rq-1", "passed")
	h.until("replaced and serving", func(st control.Status) bool {
		return len(st.Replacing) == 0 && slices.Equal(serving(st), []string{"ruby-1"})
	})
	if got := h.prov.callsOf("destroy"); len(got) != 1 {
		t.Errorf("destroy calls = %v, want one (ruby-1)", got)
	}
	if st, _ := LoadOperatorState(h.stateDir); len(st.Replace) != 0 {
		t.Errorf("request still persisted after it was done: %+v", st)
	}
	h.stop()
}

func TestOperatorStateRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name string
		in   OperatorState
		want OperatorState
	}{
		{"nothing asked", OperatorState{}, OperatorState{}},
		{"a drained worker and a request", OperatorState{Drained: map[string]time.Time{"ruby-2": at},
			Replace: []ReplaceRequest{{Target: "golden.ruby", At: at, IDs: []string{"a", "b"}}}},
			OperatorState{Drained: map[string]time.Time{"ruby-2": at},
				Replace: []ReplaceRequest{{Target: "golden.ruby", At: at, IDs: []string{"a", "b"}}}}},
		{"done requests are dropped", OperatorState{Replace: []ReplaceRequest{{Target: "ruby-1", At: at}}}, OperatorState{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := SaveOperatorState(dir, c.in); err != nil {
				t.Fatal(err)
			}
			got, err := LoadOperatorState(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := LoadOperatorState(t.TempDir()); err != nil {
		t.Errorf("missing file: %v, want nothing asked", err)
	}
}

func TestOperatorStateForget(t *testing.T) {
	st := OperatorState{Replace: []ReplaceRequest{{Target: "golden.ruby", IDs: []string{"g", "w1", "w2"}}, {Target: "ruby-3", IDs: []string{"w3"}}}}
	if !st.forget(map[string]bool{"w2": true, "x": true}) {
		t.Fatal("forget reported no change")
	}
	want := []ReplaceRequest{{Target: "golden.ruby", IDs: []string{"w2"}}}
	if diff := cmp.Diff(want, st.Replace); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if st.forget(map[string]bool{"w2": true}) {
		t.Error("forget reported a change with every ID observed")
	}
}

func FuzzParseOperatorState(f *testing.F) {
	for _, s := range []string{`{}`, `{"drained":{"ruby-2":"2026-01-02T03:04:05Z"}}`,
		`{"replace":[{"target":"box.lucid32","ids":["a"]}]}`, `{"drained":{"":"2026-01-02T03:04:05Z"}}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseOperatorState(b)
		if err != nil {
			return
		}
		for name := range st.Drained {
			if name == "" {
				t.Error("empty drained name accepted")
			}
		}
		for _, r := range st.Replace {
			if len(r.IDs) == 0 {
				t.Errorf("request %q without IDs kept", r.Target)
			}
		}
	})
}
