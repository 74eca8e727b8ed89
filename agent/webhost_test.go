package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/daemon"
)

func TestHostStateNamesWorkerStatesAsTheDashboardDoes(t *testing.T) {
	since := time.Date(2027, 1, 15, 8, 0, 0, 0, time.UTC)
	st := control.Status{Host: "build-a", Draining: true, Replacing: []string{"ruby-3"}, VMs: []control.VMStatus{
		{Name: "ruby-1", Pool: "ruby", Role: "worker", State: "busy", Worker: "build-a:ruby-1:builds",
			Job: &control.JobStatus{ID: "j1", Queue: "builds", Attempt: 2, Since: since}},
		{Name: "ruby-2", Pool: "ruby", Role: "worker", State: "idle"},
		{Name: "ruby-3", Pool: "ruby", Role: "worker", State: "handover"},
		{Name: "ruby-4", Pool: "ruby", Role: "worker", State: "handover"},
		{Name: "ruby-5", Pool: "ruby", Role: "worker", State: "creating"},
		{Name: "ruby-6", Pool: "ruby", Role: "worker", State: "drained", Drained: true},
		{Name: "golden-ruby", Pool: "ruby", Role: "golden", State: "poweroff"},
	}}
	hs := hostState(st, since)
	want := []string{"running", "ready", "rebuilding", "cordoned", "converging", "drained", "poweroff"}
	if len(hs.VMs) != len(want) {
		t.Fatalf("got %d VMs, want %d", len(hs.VMs), len(want))
	}
	for i, w := range want {
		if hs.VMs[i].State != w {
			t.Errorf("%s (daemon state %q) shown as %q, want %q", st.VMs[i].Name, st.VMs[i].State, hs.VMs[i].State, w)
		}
	}
	if j := hs.VMs[0].Job; j == nil || j.ID != "j1" || j.Attempt != 2 || !j.Since.Equal(since) || hs.VMs[0].Worker != "build-a:ruby-1:builds" {
		t.Errorf("running VM's job = %+v", hs.VMs[0])
	}
	if !hs.Draining || hs.Host != "build-a" {
		t.Errorf("host state = %+v", hs)
	}
}

type fakeHostView struct{ v daemon.HostView }

func (f fakeHostView) HostView() daemon.HostView { return f.v }

func TestHostPageHidesSecretsOfTheSpecInForceAndTheRejectedEdit(t *testing.T) {
	src := "queue {\n  redis = \"redis://fleet:hunter2@127.0.0.1:6379\"\n}\nreport \"http\" {\n  url = \"http://127.0.0.1:9/h\"\n  token = \"tok-s3cret\"\n}\n"
	h := &daemonHost{d: fakeHostView{daemon.HostView{Host: "build-a",
		Files:    []daemon.SourceFile{{Name: "/etc/fleet/fleet.hcl", Text: []byte(src)}},
		PlanAt:   time.Now(),
		Rejected: &control.RejectedEdit{At: time.Now(), Diagnostics: "Error: Restart needed\n\n  on fleet.hcl line 6:\n   6:   token = \"tok-n3w\"\n"},
	}}}
	v, err := h.HostView(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all := v.Files[0].Text + v.Rejected.Diagnostics + v.PlanText + string(v.PlanJSON)
	for _, secret := range []string{"hunter2", "tok-s3cret", "tok-n3w"} {
		if strings.Contains(all, secret) {
			t.Errorf("the Host page shows %q:\n%s", secret, all)
		}
	}
	if !strings.Contains(v.Files[0].Text, "redis://fleet:[hidden]@127.0.0.1:6379") || !strings.Contains(v.PlanText, "No changes") {
		t.Errorf("host view = %+v", v)
	}
}
