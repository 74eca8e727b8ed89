package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/queue"
)

// TestE2EAgentRunServesTheDashboardFromTheWebBlock: with `web { listen }` in
// fleet.hcl, `agent run` serves the dashboard, whose Job page shows a job
// this agent ran and its log.
func TestE2EAgentRunServesTheDashboardFromTheWebBlock(t *testing.T) {
	h := newHost(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h.writeRaw(h.render(fleetCfg{vms: 1}) + "web { listen = \"" + addr + "\" }\n")
	h.start()
	h.submit("web-1")
	h.release("web-1")
	h.waitJob("web-1", queue.StatePassed)
	page := ""
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/jobs/web-1")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			page = string(b)
			break
		}
	}
	for _, want := range []string{`id="state">passed`, "e2e-host", "done web-1"} {
		if !strings.Contains(page, want) {
			t.Errorf("job page from agent run lacks %q:\n%s", want, page)
		}
	}
	h.signal(syscall.SIGTERM)
	if code := h.waitExit(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}
