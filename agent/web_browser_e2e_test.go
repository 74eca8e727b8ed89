package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/internal/browsertest"
	"github.com/fleet-agent/fleet/queue"
)

// TestE2EWebDashboardOfARealAgentInABrowser: a real `agent run` on the
// simulator serves the dashboard to a real chromium; the Fleet page lists
// the host and its two worker VMs, one running the submitted job; the job's
// page shows a line the guest prints while the browser watches (the time it
// took is logged, not asserted: the machines are shared), rendered as text;
// the Host page shows the spec in force.
func TestE2EWebDashboardOfARealAgentInABrowser(t *testing.T) {
	h := newHost(t)
	ctx := browsertest.Start(t, 3*time.Minute)
	trouble := browsertest.WatchTrouble(t, ctx)
	shots := browsertest.NewScreenshots(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h.writeRaw(h.render(fleetCfg{vms: 2}) + "web { listen = \"" + addr + "\" }\n")
	h.start()
	h.until("both workers serving", func(st *control.Status) bool { return len(servingVMs(st)) == 2 })

	base := "http://" + addr
	poll := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// The Fleet page is server-rendered: loadUntil loads a page again until js holds.
	loadUntil := func(what, path, js string) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+path)); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); ok {
				return
			}
		}
		t.Fatalf("%s never showed %s", path, what)
	}
	loadUntil("both workers of e2e-host ready", "/",
		`[...document.querySelectorAll("section#host-e2e-host td.state")].filter(td => td.textContent === "ready").length === 2`)

	gate1 := filepath.Join(h.shared, "gate1-web")
	gate2 := filepath.Join(h.shared, "gate2-web")
	if _, err := h.tq.Submit(context.Background(), "builds", queue.Args{
		ID: "web-live", Repository: queue.Repository{Slug: "fleet/e2e", URL: h.repoURL}, Commit: h.commit, Branch: "main",
		Script: []string{
			"echo 'first line <b>not bold</b>'",
			fmt.Sprintf("while [ ! -f %s ]; do sleep 0.05; done", gate1),
			`printf '\033[31mline from the guest\033[0m\n'`,
			fmt.Sprintf("while [ ! -f %s ]; do sleep 0.05; done", gate2),
		},
	}); err != nil {
		t.Fatal(err)
	}
	h.until("the job running", func(st *control.Status) bool { return runningOn(st, "web-live") != "" })
	loadUntil("the running job on one worker", "/", `!!document.querySelector('section#host-e2e-host a[href="/jobs/web-live"]')`)
	shots.Take(ctx, t, "agent-fleet")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/jobs/web-live")); err != nil {
		t.Fatalf("job page: %v", err)
	}
	poll("the first line", `document.getElementById("log").textContent.includes("first line <b>not bold</b>")`)
	start := time.Now()
	if err := os.WriteFile(gate1, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	poll("the guest's red line, live", `!!document.querySelector("#log span.a31") && document.querySelector("#log span.a31").textContent === "line from the guest"`)
	t.Logf("a line the guest printed reached the browser %v after the gate opened (it includes the guest's 50 ms poll)", time.Since(start).Round(time.Millisecond))
	shots.Take(ctx, t, "agent-job-live")
	if err := os.WriteFile(gate2, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	poll("the job's end on the page", `document.getElementById("state").textContent === "passed"`)
	h.waitJob("web-live", queue.StatePassed)

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/host"), chromedp.WaitVisible(`pre.spec`)); err != nil {
		t.Fatalf("host page: %v", err)
	}
	shots.Take(ctx, t, "agent-host")
	trouble.Check(t, "the dashboard of a real agent")
	h.signal(syscall.SIGTERM)
	if code := h.waitExit(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}
