package web

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/fleet-agent/fleet/queue"
)

// chromium starts a headless Debian chromium with a fresh profile, or skips
// the test when it is not installed (scripts/test-deps.sh installs it).
func chromium(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (scripts/test-deps.sh installs Debian's chromium): skipping the browser test")
	}
	dir, err := os.MkdirTemp("", "fleet-web-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// Bound the whole browser: the test should take seconds.
	base, stop := context.WithTimeout(context.Background(), 50*time.Second)
	alloc, cancelAlloc := chromedp.NewExecAllocator(base,
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(dir))
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		stop()
		// Chromium's children may still write into the profile briefly.
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return ctx
}

// TestE2EWebDashboardInABrowser proves in a real chromium that a running
// job's log appears live with its colours and the view follows the end,
// that Retry on the Failed page moves the job back to its queue, and that a
// finished job's page renders with JavaScript off.
func TestE2EWebDashboardInABrowser(t *testing.T) {
	ctx := chromium(t)
	_, rdb, hs := newTest(t)
	rctx := context.Background()

	// A running job: the log so far, then more lines as the browser watches.
	q := seedJob(t, rdb, "live1", queue.StateStarted, "\x1b[32mcloning\x1b[0m\n")
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/jobs/live1"),
		chromedp.WaitVisible(`#log span.a32`)); err != nil {
		t.Fatalf("job page: %v", err)
	}
	if err := q.AppendLog(rctx, "live1", []byte("\x1b[1;31mtest failed: want 2\x1b[0m\n"+strings.Repeat("more output\n", 300))); err != nil {
		t.Fatal(err)
	}
	red, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(document.querySelector("#log span.a31.ab") || {}).textContent`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil || red != "test failed: want 2" {
		t.Fatalf("live red line: %q, %v", red, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
		`window.scrollY > 0 && window.innerHeight + window.scrollY >= document.body.scrollHeight - 40`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the log view did not follow the end: %v", err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById("log").textContent.split("more output").length - 1`))
	if err != nil || n != 300 {
		t.Fatalf("log shows %d of 300 followed lines (%v): replayed or lost output", n, err)
	}
	rdb.HSet(rctx, "resque:fleet:job:live1", "state", "failed")
	rdb.Publish(rctx, "resque:fleet:job:live1:events", "end failed")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("state").textContent === "failed"`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the end of the job did not reach the page: %v", err)
	}

	// Retry on the Failed page puts the payload back on its queue.
	rdb.RPush(rctx, "resque:failed", `{"failed_at":"2027/01/15 08:01:00 UTC","payload":`+secretPayload+`,"exception":"Fleet::Errored","error":"vm lost","worker":"build-a:7:builds","queue":"builds"}`)
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/failed"),
		chromedp.Click(`form[action="/failed/0/retry"] button`), chromedp.WaitVisible(`.retried`)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got, _ := rdb.LRange(rctx, "resque:queue:builds", 0, -1).Result(); len(got) != 1 || got[0] != secretPayload {
		t.Fatalf("queue builds after Retry = %q, want the failed payload", got)
	}

	// With JavaScript off, a finished job's page still shows its coloured log.
	noJS := func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return chromedp.Void{}, err
	}
	seedJob(t, rdb, "done1", queue.StatePassed, "\x1b[36mall green\x1b[0m\n")
	if err := chromedp.Do(ctx, noJS, chromedp.Navigate(hs.URL+"/jobs/done1")); err != nil {
		t.Fatalf("job page with JavaScript off: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(`#log span.a36`))
	if err != nil || text != "all green" {
		t.Fatalf("job page with JavaScript off: log %q, %v", text, err)
	}
}
