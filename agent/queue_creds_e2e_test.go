package main

// End-to-end proof for queue credentials: the agent serves a Redis whose
// default user is off, authenticating as an ACL user with the password from
// a file or an environment variable, and the password shows up nowhere a
// build or an operator can read it.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/internal/redistest"
	"github.com/fleet-agent/fleet/queue"
)

const (
	credsUser     = "fleet-agent"
	credsPassword = "pw-5e2d0c1b-e2e-secret"
	credsEnv      = "FLEET_E2E_QUEUE_PASSWORD"
)

// useACLRedis points h at a fresh ACL redis and returns the queue block
// lines that authenticate with source ("file" or "env").
func useACLRedis(t *testing.T, h *host, source string) string {
	t.Helper()
	h.redis = redistest.StartACL(t, redistest.ACL{Username: credsUser, Password: credsPassword})
	tq, err := queue.Open(queue.Config{URL: h.redis.URL, Host: "e2e-submitter",
		Credentials: queue.Credentials{Username: credsUser, PasswordEnv: credsEnv}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tq.Close() })
	h.tq = tq
	auth := `username = "` + credsUser + `"` + "\n"
	if source == "file" {
		pwFile := filepath.Join(h.dir, "redis.pw")
		if err := os.WriteFile(pwFile, []byte(credsPassword+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return auth + `password_file = "redis.pw"`
	}
	return auth + `password_env = "` + credsEnv + `"`
}

func withQueueAuth(fleetHCL, redisURL, auth string) string {
	return strings.Replace(fleetHCL, `queue { redis = "`+redisURL+`" }`,
		"queue {\n  redis = \""+redisURL+"\"\n"+auth+"\n}", 1)
}

// TestE2EQueueCredentialsNeverReachBuildsOrLogs: with password_file and with
// password_env the agent fetches and runs a job; the job's environment, its
// `ps` listing, its log, the agent's log and `agent status` never show the
// password.
func TestE2EQueueCredentialsNeverReachBuildsOrLogs(t *testing.T) {
	for _, source := range []string{"file", "env"} {
		t.Run(source, func(t *testing.T) {
			t.Setenv(credsEnv, credsPassword) // the submitter uses it; the agent only in "env"
			h := newHost(t)
			auth := useACLRedis(t, h, source)
			cfg := withQueueAuth(h.render(fleetCfg{vms: 1}), h.redis.URL, auth)
			if !strings.Contains(cfg, "username") {
				t.Fatal("queue block not rewritten")
			}
			h.writeRaw(cfg)
			env := h.sim.Env()
			if source == "env" {
				// The submitter above (in this process) took it out of this process's environment.
				env = append(env, credsEnv+"="+credsPassword)
			}
			if source == "file" {
				// The agent must not find the password anywhere but the file.
				env = append(env, credsEnv+"=", queue.PasswordEnv+"=")
			}
			h.procN++
			h.proc, h.exited, h.logPath = startAgentRun(t, h.bin, h.fleet, h.dir, h.procN, env)
			h.until("ruby-1 serving", func(st *control.Status) bool { return slices.Equal(servingVMs(st), []string{"ruby-1"}) })

			_, err := h.tq.Submit(context.Background(), "builds", queue.Args{
				ID: "creds-1", Repository: queue.Repository{Slug: "fleet/e2e", URL: h.repoURL}, Commit: h.commit, Branch: "main",
				Script: []string{"env", "ps auxww || ps -ef", "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c . || true"},
			})
			if err != nil {
				t.Fatal(err)
			}
			h.waitJob("creds-1", queue.StatePassed)
			var jobLog bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := h.tq.FollowLog(ctx, "creds-1", &jobLog, false); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(jobLog.String(), "PATH=") {
				t.Fatalf("job log lacks the env dump:\n%s", jobLog.String())
			}
			// No process the agent started has it in its environment: the simulated VMs (started
			// by VBoxManage, which the agent runs with VBOXSIM_HOME) inherited VBoxManage's
			// environment, which is the agent's. The worker may be between guest processes while
			// it is rolled back, so look until one is there.
			children := 0
			for deadline := time.Now().Add(30 * time.Second); children == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				environs, _ := filepath.Glob("/proc/[0-9]*/environ")
				for _, p := range environs {
					b, err := os.ReadFile(p)
					if err != nil || !bytes.Contains(b, []byte("VBOXSIM_HOME="+h.sim.Home+"\x00")) ||
						p == fmt.Sprintf("/proc/%d/environ", h.proc.Process.Pid) { // the agent's own initial environment
						continue
					}
					children++
					if bytes.Contains(b, []byte(credsPassword)) {
						t.Errorf("%s: a process the agent started inherited the queue password", p)
					}
				}
			}
			if children == 0 {
				t.Error("found no process started by the agent to check")
			}
			// No process on this host (agent, VBoxManage, ssh, redis-server) has it in its arguments.
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range procs {
				if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(credsPassword)) {
					t.Errorf("%s shows the queue password: %q", p, b)
				}
			}
			code, statusOut := h.cli("status", "-c", h.fleet)
			if code != 0 {
				t.Errorf("agent status exit %d:\n%s", code, statusOut)
			}
			h.signal(syscall.SIGTERM)
			h.waitExit()
			agentLog, err := os.ReadFile(h.logPath)
			if err != nil {
				t.Fatal(err)
			}
			for what, text := range map[string]string{
				"job log (env, ps)": jobLog.String(),
				"agent status":      statusOut,
				"agent log":         string(agentLog),
			} {
				for i, line := range strings.Split(text, "\n") {
					if strings.Contains(line, credsPassword) {
						t.Errorf("%s line %d shows the queue password: %q", what, i+1, line)
					}
				}
			}
		})
	}
}

// TestE2EQueueWrongPasswordIsClearAndSecret: a wrong password stops `agent
// run` with an error that says the authentication failed, without the password.
func TestE2EQueueWrongPasswordIsClearAndSecret(t *testing.T) {
	t.Setenv(credsEnv, credsPassword)
	h := newHost(t)
	useACLRedis(t, h, "env")
	const wrong = "wrong-" + credsPassword
	h.writeRaw(withQueueAuth(h.render(fleetCfg{vms: 1}), h.redis.URL,
		`username = "`+credsUser+`"`+"\n"+`password_env = "FLEET_E2E_WRONG_PW"`))
	h.procN++
	h.proc, h.exited, h.logPath = startAgentRun(t, h.bin, h.fleet, h.dir, h.procN, append(h.sim.Env(), "FLEET_E2E_WRONG_PW="+wrong))
	if code := h.waitExit(); code == 0 {
		t.Fatal("agent run exited 0 with a wrong Redis password")
	}
	out, _ := os.ReadFile(h.logPath)
	if !strings.Contains(string(out), "WRONGPASS") {
		t.Errorf("agent output does not say the password was refused:\n%s", out)
	}
	if strings.Contains(string(out), wrong) {
		t.Errorf("agent output shows the password:\n%s", out)
	}
}
