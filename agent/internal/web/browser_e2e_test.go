package web

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/fleet-agent/fleet/internal/browsertest"
	"github.com/fleet-agent/fleet/queue"
	"github.com/redis/go-redis/v9"
)

// TestE2EWebDashboardInABrowser proves in a real chromium that the Fleet,
// Queues and Failed pages render what Redis holds, that a running job's log
// appears live with its colours and the view follows the end, that Retry on
// the Failed page (with the dashboard's token) moves the job back to its
// queue, that a log with HTML and a payload with <script> render as text and
// run nothing, and that a finished job's page renders with JavaScript off.
// It saves a screenshot of each page.
func TestE2EWebDashboardInABrowser(t *testing.T) {
	ctx := browsertest.Start(t, 50*time.Second)
	_, rdb, hs := newTest(t)
	rctx := context.Background()
	trouble := browsertest.WatchTrouble(t, ctx)
	shots := browsertest.NewScreenshots(t)

	// Fleet and Queues pages from what agents and Resque clients wrote.
	rdb.ZAdd(rctx, "resque:fleet:leases", redis.Z{Member: "build-a", Score: float64(testNow.Add(20 * time.Second).UnixMilli())})
	publish(t, rdb, HostState{Host: "build-a", At: testNow, VMs: []VMState{
		{Name: "ruby-1", Pool: "ruby", Role: "worker", State: "running", Job: &JobRef{ID: "live1", Queue: "builds", Attempt: 1, Since: testNow.Add(-time.Minute)}},
		{Name: "ruby-2", Pool: "ruby", Role: "worker", State: "ready"},
	}})
	rdb.SAdd(rctx, "resque:queues", "builds")
	rdb.RPush(rctx, "resque:queue:builds", `{"class":"Deploy","args":["<img src=x onerror=alert(1)>"]}`)
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/"), chromedp.WaitVisible(`section#host-build-a table.vms`)); err != nil {
		t.Fatalf("fleet page: %v", err)
	}
	shots.Take(ctx, t, "fleet")
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/queues"), chromedp.WaitVisible(`table.queues`)); err != nil {
		t.Fatalf("queues page: %v", err)
	}
	shots.Take(ctx, t, "queues")
	rdb.Del(rctx, "resque:queue:builds")

	// A running job: the log so far, then more lines as the browser watches.
	q := seedJob(t, rdb, "live1", queue.StateStarted, "\x1b[32mcloning\x1b[0m\n<script>alert('log')</script><img src=x onerror=alert(2)>\n")
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
	shots.Take(ctx, t, "job-live")
	if txt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("log").textContent`)); err != nil ||
		!strings.Contains(txt, "<script>alert('log')</script>") {
		t.Errorf("the log's markup is not shown as text: %q, %v", txt, err)
	}
	rdb.HSet(rctx, "resque:fleet:job:live1", "state", "failed")
	rdb.Publish(rctx, "resque:fleet:job:live1:events", "end failed")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("state").textContent === "failed"`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the end of the job did not reach the page: %v", err)
	}

	// Retry on the Failed page puts the payload back on its queue.
	rdb.RPush(rctx, "resque:failed", `{"failed_at":"2027/01/15 08:01:00 UTC","payload":`+secretPayload+`,"exception":"Fleet::Errored","error":"vm lost","worker":"build-a:7:builds","queue":"builds"}`)
	// Without the dashboard's token the browser is refused; with it, Retry works.
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/failed"),
		chromedp.Click(`form[action="/failed/0/retry"] button`), chromedp.WaitVisible(`body`)); err != nil {
		t.Fatalf("retry without the token: %v", err)
	}
	if n, _ := rdb.LLen(rctx, "resque:queue:builds").Result(); n != 0 {
		t.Fatalf("Retry without the dashboard's token requeued the job")
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("ops:"+testToken))
	if err := chromedp.Do(ctx, browsertest.Command(network.Enable, network.EnableParams{}),
		browsertest.Command(network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/failed"), chromedp.WaitVisible(`table.failed`)); err != nil {
		t.Fatalf("failed page: %v", err)
	}
	shots.Take(ctx, t, "failed")
	if err := chromedp.Do(ctx, chromedp.Click(`form[action="/failed/0/retry"] button`), chromedp.WaitVisible(`.retried`)); err != nil {
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
	trouble.Check(t, "pages with JavaScript on")
	seedJob(t, rdb, "done1", queue.StatePassed, "\x1b[36mall green\x1b[0m\n")
	if err := chromedp.Do(ctx, noJS, chromedp.Navigate(hs.URL+"/jobs/done1")); err != nil {
		t.Fatalf("job page with JavaScript off: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(`#log span.a36`))
	if err != nil || text != "all green" {
		t.Fatalf("job page with JavaScript off: log %q, %v", text, err)
	}
	shots.Take(ctx, t, "job-finished-nojs")
	trouble.Check(t, "all pages")
}
