package daemon

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fleet-agent/fleet/reconcile"
)

func TestBackoffDoublesUpToMax(t *testing.T) {
	b := newBackoff(time.Second, 5*time.Second)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got []time.Duration
	for range 5 {
		got = append(got, b.fail("fetch_box/a/1", errors.New("404"), t0).Sub(t0))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}
	cases := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"blocked before retry time", t0.Add(4 * time.Second), true},
		{"free at retry time", t0.Add(5 * time.Second), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := b.blocked("fetch_box/a/1", c.at); got != c.want {
				t.Errorf("blocked = %v, want %v", got, c.want)
			}
		})
	}
	if next := b.next(t0); !next.Equal(t0.Add(5 * time.Second)) {
		t.Errorf("next = %v, want t0+5s", next)
	}
	b.succeed("fetch_box/a/1")
	if b.blocked("fetch_box/a/1", t0) {
		t.Error("still blocked after success")
	}
	b.fail("x", errors.New("e"), t0)
	b.forget(reconcile.Plan{})
	if b.blocked("x", t0) {
		t.Error("an action no longer planned kept its backoff")
	}
}

func TestFilterPlanDropsDependents(t *testing.T) {
	plan := reconcile.Plan{Actions: []reconcile.Action{
		{ID: "fetch_box/b/1"},
		{ID: "import_box/b/1", DependsOn: []string{"fetch_box/b/1"}},
		{ID: "build_golden/g", DependsOn: []string{"import_box/b/1"}},
		{ID: "create_worker/p-2", DependsOn: []string{"build_golden/g"}},
		{ID: "destroy_worker/q-3"},
		{ID: "replace_worker/p-1", Waiting: "busy with a job"},
	}}
	kept, removed := filterPlan(plan, func(a reconcile.Action) bool { return a.ID == "fetch_box/b/1" })
	var keptIDs []string
	for _, a := range kept.Actions {
		keptIDs = append(keptIDs, a.ID)
	}
	if diff := cmp.Diff([]string{"destroy_worker/q-3", "replace_worker/p-1"}, keptIDs); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"fetch_box/b/1", "import_box/b/1", "build_golden/g", "create_worker/p-2"}, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
}
