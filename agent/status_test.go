package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

// TestRenderStatus checks the text view of a host in each state worth showing.
func TestRenderStatus(t *testing.T) {
	now := t0.Add(time.Hour)
	base := func() *control.Status {
		return &control.Status{
			Host: "build-01", PID: 4242, StartedAt: t0,
			Spec:      control.SpecStatus{Files: []string{"/etc/fleet/fleet.hcl"}, LoadedAt: t0.Add(time.Minute)},
			Reconcile: control.PassStatus{Passes: 12, LastPass: t0.Add(59 * time.Minute)},
			VMs: []control.VMStatus{
				{Name: "fleet-box-lucid32-2.1.0", Role: "box", State: "stopped"},
				{Name: "fleet-golden-ruby-399e743c3207", Pool: "ruby", Role: "golden", State: "stopped", Image: "399e743c3207"},
				{Name: "ruby-1", Pool: "ruby", Role: "worker", State: "busy", Image: "399e743c3207", Worker: "build-01:4242-ruby-1:builds", Serving: true,
					Job:  &control.JobStatus{ID: "20260304-105500-9f3a1c2b", Queue: "builds", Attempt: 1, Since: t0.Add(55 * time.Minute)},
					Last: &control.JobResult{ID: "20260304-104000-00aa11bb", State: "passed", At: t0.Add(50 * time.Minute), Took: control.Duration(3*time.Minute + 20*time.Second)}},
				{Name: "ruby-2", Pool: "ruby", Role: "worker", State: "idle", Image: "399e743c3207", Worker: "build-01:4242-ruby-2:builds", Serving: true},
			},
		}
	}
	cases := []struct {
		name   string
		golden string
		edit   func(st *control.Status)
	}{
		{"serving host", "status-serving.golden", func(st *control.Status) {}},
		{"drained with a deadline, foreign VMs and a failing action", "status-drained.golden", func(st *control.Status) {
			st.Draining, st.DrainSince, st.DrainDeadline = true, at(58*time.Minute), at(118*time.Minute)
			for i := range st.VMs {
				if st.VMs[i].Worker != "" {
					st.VMs[i].Serving, st.VMs[i].Why = false, "host drained"
				}
			}
			st.Foreign = []control.ForeignVM{{Name: "win7-dev"}, {Name: "ci-02-ruby-1", Owner: "ci-02"}}
			st.Failures = []control.ActionStatus{{ID: "fetch_box/lucid32/2.2.0", Error: "download: 404 Not Found", Failures: 3, RetryAt: t0.Add(61 * time.Minute)}}
		}},
		{"rejected edit and a waiting replacement", "status-rejected.golden", func(st *control.Status) {
			st.Rejected = &control.RejectedEdit{At: t0.Add(57 * time.Minute),
				Diagnostics: "Error: Invalid number of VMs\n\n  on /etc/fleet/fleet.hcl line 12, in pool \"ruby\":\n  12:   vms = -1\n\nvms must be between 0 and 200.\n"}
			st.Reconcile.Waiting = []string{"replace_worker/ruby-1: busy with a job"}
			st.VMs[2].Why = "handing over to reconcile"
		}},
		{"rejected golden image and a pool allowing ssh passwords", "status-hardening.golden", func(st *control.Status) {
			st.VMs[1].State = "rejected"
			st.VMs[1].Rejected = "golden image not hardened: check password login to root@127.0.0.1:2222: password login accepted"
			st.PasswordPools = []string{"legacy"}
		}},
		{"edit pending a restart", "status-restart.golden", func(st *control.Status) {
			st.Rejected = &control.RejectedEdit{At: t0.Add(57 * time.Minute), RestartNeeded: []string{"host.state_dir"},
				Diagnostics: "Error: Restart needed\n\n  on /etc/fleet/fleet.hcl line 3:\n\nhost.state_dir changed, but it is read only when the agent starts; the running agent keeps its current fleet.hcl and has not applied this edit. Restart the agent to apply it, or undo the change.\n\n"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := base()
			c.edit(st)
			var buf bytes.Buffer
			if err := renderStatus(&buf, st, now); err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, buf.String())
		})
	}
}

// TestControlCommandsWithoutAgent checks drain, resume and status say that no agent runs.
func TestControlCommandsWithoutAgent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), control.SocketName)
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"status", []string{"status", "--socket", sock}, exitError},
		{"drain", []string{"drain", "--socket", sock}, exitError},
		{"resume", []string{"resume", "--socket", sock}, exitError},
		{"negative deadline is a usage error", []string{"drain", "--socket", sock, "--deadline", "-1h"}, exitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code != c.want {
				t.Errorf("exit = %d, want %d (stderr %q)", code, c.want, stderr)
			}
			if c.want == exitError && !strings.Contains(stderr, "no agent is running") {
				t.Errorf("stderr = %q, want it to say no agent is running", stderr)
			}
		})
	}
}

// TestSocketPathFromBrokenFile: status finds the socket of a fleet.hcl that does not load.
func TestSocketPathFromBrokenFile(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, src, want string }{
		{"valid file", "host {\n  state_dir = \"/srv/fleet\"\n}\n" + testBox + "pool \"p\" { box = \"lucid32\" }\n", "/srv/fleet/agent.sock"},
		{"truncated file", "host {\n  state_dir = \"/srv/fleet2\"\n}\npool \"p\" {\n", "/srv/fleet2/agent.sock"},
		{"no state_dir", "pool {", "/var/lib/fleet/agent.sock"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, dir, c.name+".hcl", c.src)
			a := &app{configPath: p}
			got, err := a.socketPath(socketFlag{})
			if err != nil || got != c.want {
				t.Errorf("socketPath = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestFleetStatusReadsTheRegistry registers workers of two hosts, one busy and one dead, and
// checks `status --fleet` shows them.
func TestFleetStatusReadsTheRegistry(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	open := func(host string) *queue.Client {
		c, err := queue.Open(queue.Config{URL: srv.URL, Host: host}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := open("build-01"), open("build-02")
	s1, _ := a.NewSlot("ruby-1", []string{"builds"})
	s2, _ := a.NewSlot("ruby-2", []string{"builds"})
	s3, _ := b.NewSlot("ruby-1", []string{"builds.ruby", "builds"})
	for _, s := range []*queue.Slot{s1, s2, s3} {
		if err := s.Register(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Submit(ctx, "builds", queue.Args{ID: "job-1", Repository: queue.Repository{Slug: "o/r", URL: "https://example.org/o/r.git"},
		Commit: "0123456789abcdef", Script: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if j, err := s1.Fetch(ctx); err != nil || j.ID != "job-1" {
		t.Fatalf("fetch: %v, %v", j, err)
	}
	// build-02 stopped heartbeating two minutes ago.
	stale := time.Now().Add(-2 * time.Minute).UTC().Format(time.RFC3339)
	a.Redis().HSet(ctx, "resque:workers:heartbeat", s3.ID(), stale)

	workers, err := readFleet(ctx, a.Redis(), "resque", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		host, job string
		dead      bool
	}
	var got []row
	for _, w := range workers {
		got = append(got, row{w.Host, w.Job, w.Dead})
	}
	want := []row{{"build-01", "job-1", false}, {"build-01", "", false}, {"build-02", "", true}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(row{})); diff != "" {
		t.Errorf("workers (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	if err := renderFleet(&buf, workers, time.Now()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, w := range []string{"busy", "job-1 (builds", "DEAD (heartbeat 2m", "2 hosts, 3 workers: 1 busy, 1 idle, 1 dead."} {
		if !strings.Contains(out, w) {
			t.Errorf("fleet view lacks %q:\n%s", w, out)
		}
	}
	code, stdout, stderr := runCLI(t, "status", "--fleet", "--redis", srv.URL)
	if code != exitOK || !strings.Contains(stdout, "2 hosts, 3 workers") {
		t.Errorf("agent status --fleet: exit %d\n%s%s", code, stdout, stderr)
	}
}
