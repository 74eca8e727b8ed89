package daemon

import (
	"slices"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/queue"
)

// TestRestartOnlyEditIsPending: saving a state_dir change while a job runs is rejected with a
// located "Restart needed" diagnostic and shown as the pending edit; the running spec stays in
// force (a pool change saved with it is not applied either) and the job goes on. Undoing the
// restart-only part applies the rest.
func TestRestartOnlyEditIsPending(t *testing.T) {
	h := newHarness(t, fleetSrc{vms: 1})
	h.start()
	h.until("one worker", workersNamed("ruby-1"))
	h.submit("job-1")
	if id := h.started(); id != "job-1" {
		t.Fatalf("started %s", id)
	}
	moved := func(vms int) string {
		return strings.Replace(fleetSrc{vms: vms}.render(h.stateDir, h.redis.URL), h.stateDir, h.stateDir+"-moved", 1)
	}
	for _, tc := range []struct {
		name string
		src  string
	}{
		{"state_dir alone", moved(1)},
		{"state_dir with a pool change", moved(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := h.d.Status()
			h.writeRaw(tc.src)
			before := prev.Spec
			st := h.until("pending edit shown", func(st control.Status) bool {
				return st.Rejected != nil && (prev.Rejected == nil || st.Rejected.At.After(prev.Rejected.At)) &&
					slices.Equal(st.Rejected.RestartNeeded, []string{"host.state_dir"})
			})
			for _, want := range []string{"Error: Restart needed", "on " + h.cfgPath + " line 3:", "host.state_dir changed"} {
				if !strings.Contains(st.Rejected.Diagnostics, want) {
					t.Errorf("diagnostics lack %q:\n%s", want, st.Rejected.Diagnostics)
				}
			}
			if st.Spec.Hash != before.Hash || !st.Spec.LoadedAt.Equal(before.LoadedAt) {
				t.Errorf("spec in force changed: %+v -> %+v", before, st.Spec)
			}
			if v := vmByName(st, "ruby-1"); v == nil || v.Job == nil || v.Job.ID != "job-1" {
				t.Errorf("ruby-1 = %+v, want job-1 still running", v)
			}
		})
	}
	h.write(fleetSrc{vms: 2}) // state_dir back as it runs: the pool change applies
	st := h.until("the rest applied", workersNamed("ruby-1", "ruby-2"))
	if st.Rejected != nil {
		t.Errorf("pending edit still shown after undoing it: %+v", st.Rejected)
	}
	if c := h.prov.callsOf("create"); !slices.Equal(c, []string{"ruby-1", "ruby-2"}) {
		t.Errorf("creates = %v, want ruby-2 only after the restart-only edit was undone", c)
	}
	h.jobs.finish("job-1", queue.StatePassed)
	h.until("job-1 recorded", func(st control.Status) bool {
		v := vmByName(st, "ruby-1")
		return v.Last != nil && v.Last.ID == "job-1"
	})
	if got := h.jobState("job-1"); got != queue.StatePassed {
		t.Errorf("job-1 = %s, want passed", got)
	}
	h.stop()
}
