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
// fleet.hcl, `agent run` serves the dashboard: the Job page shows a job this
// agent ran and its log, the Fleet page its worker VM from the state it
// publishes, and the Host page the fleet.hcl in force (secrets hidden), the
// last plan and, after a bad save, the rejected edit.
func TestE2EAgentRunServesTheDashboardFromTheWebBlock(t *testing.T) {
	h := newHost(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const reportToken = "e2e-report-token-5d1c"
	cfg := h.render(fleetCfg{vms: 1}) + "web { listen = \"" + addr + "\" }\n" +
		"report \"http\" {\n  url = \"http://127.0.0.1:9/hook\"\n  token = \"" + reportToken + "\"\n}\n"
	h.writeRaw(cfg)
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
	fetch := func(path string, want ...string) string {
		t.Helper()
		body := ""
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			all := resp.StatusCode == 200
			for _, w := range want {
				all = all && strings.Contains(body, w)
			}
			if all {
				return body
			}
		}
		t.Errorf("GET %s never showed all of %q:\n%s", path, want, body)
		return body
	}
	fetch("/", "e2e-host", `<td class="state">ready</td>`, `href="/host"`)
	host := fetch("/host", "fleet.hcl in force", `token = &#34;[hidden]&#34;`, "No changes")
	if strings.Contains(host, reportToken) {
		t.Errorf("the Host page shows the report token:\n%s", host)
	}
	h.writeRaw(cfg + "pool \"broken\" {\n")
	host = fetch("/host", "Rejected edit", "The spec below stays in force", `token = &#34;[hidden]&#34;`)
	if strings.Contains(host, reportToken) {
		t.Errorf("the Host page shows the report token after a rejected edit:\n%s", host)
	}
	h.signal(syscall.SIGTERM)
	if code := h.waitExit(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}
