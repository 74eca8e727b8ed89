package main

import (
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fleet-agent/fleet/metrics"
	"github.com/fleet-agent/fleet/spec"
)

// TestReportConfigsCountDropsPerReceiver: each report block's drops are counted under its
// URL without credentials or query, by event kind.
func TestReportConfigsCountDropsPerReceiver(t *testing.T) {
	met := metrics.New()
	f := &spec.Fleet{Reports: []*spec.Report{{Kind: "http", URL: "https://ci.example.org/hook?key=NEVER"}}}
	cfgs := reportConfigs(f, met)
	cfgs[0].OnDrop("log")
	cfgs[0].OnDrop("log")
	cfgs[0].OnDrop("finished")
	mfs, err := met.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "fleet_report_events_dropped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			got[labels["receiver"]+" "+labels["kind"]] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"https://ci.example.org/hook?redacted log": 2, "https://ci.example.org/hook?redacted finished": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fleet_report_events_dropped_total (-want +got):\n%s", diff)
	}
}

// TestLiveListenerKeepsServingWhenTheNewAddressDoesNotBind: moving a listener to an address
// in use fails before anything changes (the old one keeps serving); a free address is bound
// before the old one closes; "" stops it.
func TestLiveListenerKeepsServingWhenTheNewAddressDoesNotBind(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	l := &liveListener{name: "test", log: log,
		serve: handlerServer("test", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }), log)}
	defer l.close()
	up := func(addr string) bool {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	}
	first := freeAddr(t)
	commit, _, err := l.prepare(first)
	if err != nil {
		t.Fatal(err)
	}
	commit()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, _, err := l.prepare(busy.Addr().String()); err == nil {
		t.Fatal("prepare on an address in use succeeded")
	}
	if !up(first) {
		t.Fatalf("old listener %s stopped after a failed move", first)
	}
	second := freeAddr(t)
	commit, _, err = l.prepare(second)
	if err != nil {
		t.Fatal(err)
	}
	if !up(first) || !up(second) {
		t.Fatal("before commit both the old and the new listener serve")
	}
	commit()
	if up(first) || !up(second) {
		t.Errorf("after commit: old up %v, new up %v; want only the new one", up(first), up(second))
	}
	commit, _, err = l.prepare("")
	if err != nil {
		t.Fatal(err)
	}
	commit()
	if up(second) {
		t.Error("listener still serves after moving to \"\"")
	}
}
