// The run subcommand: the daemon. It loads fleet.hcl, holds the host's apply lock for its whole
// life, and runs the reconcile loop and the workers (package daemon) until a signal stops it.
// Signals are handled here, in main's goroutine: SIGTERM/SIGINT drain and exit once running
// jobs finish, a second one cancels them (they are requeued) and exits; SIGHUP reloads.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/control"
	"github.com/fleet-agent/fleet/daemon"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/metrics"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/report"
	"github.com/fleet-agent/fleet/sandbox"
	"github.com/fleet-agent/fleet/spec"
)

func init() { commands = append(commands, newRunCmd) }

func newRunCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the agent: keep this host matching fleet.hcl and run build jobs",
		Long: `Run is the daemon. It makes this host match fleet.hcl and keeps it so: a saved fleet.hcl is
applied while builds keep running, queue, listeners and report endpoints included (an edit
that does not load, needs a restart or cannot be taken live is reported by 'agent status' and
not applied), workers start on every converged worker VM and take jobs from the Resque queues
of their pool, and each job runs in a clean VM that is rolled back afterwards.

Signals: SIGTERM or SIGINT stop fetching and exit once running jobs finish; a second one
cancels the running jobs (they go back to the queue) and exits at once. SIGHUP reloads
fleet.hcl. 'agent drain', 'agent resume' and 'agent status' talk to it over the control
socket in state_dir.

Exit codes: 0 stopped by a signal; 1 could not start (invalid fleet.hcl, another agent on this
state_dir, Redis or the control socket unusable).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDaemon() },
	}
}

func (a *app) runDaemon() error {
	log, err := a.logger()
	if err != nil {
		return err
	}
	queue.RouteLibraryLog(log) // go-redis's dial errors while Redis is away: not on bare stderr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	// A second agent on the same state_dir would wait for the apply lock forever: refuse it.
	if sock, err := a.socketPath(socketFlag{}); err == nil {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := control.Call(cctx, sock, control.Request{Op: control.OpStatus}, nil)
		ccancel()
		if err == nil {
			return fmt.Errorf("another agent is running on %s: %w", sock, control.ErrAgentRunning)
		}
	}
	r, err := a.openReconcile(ctx, true)
	if err != nil {
		return err
	}
	defer r.close()
	f := r.fleet
	path, _ := a.configFile()
	state := f.Host.StateDir

	// Metrics are always recorded, so that a live edit can start serving them.
	met := metrics.New()
	qc, err := openQueue(ctx, f, met, log)
	if err != nil {
		return err
	}
	defer qc.Close()
	key, err := guest.LoadOrCreateKey(state)
	if err != nil {
		return fmt.Errorf("agent key: %w", err)
	}
	vb := f.VirtualBox

	// The listeners, the dashboard and the reporters a live edit changes (live.go). The
	// reporters of fleet.hcl's report blocks: the daemon runs them and flushes them on the way
	// out; the sandboxes copy each job's log to them.
	rep, err := report.NewLive(reportConfigs(f, met), 0, log)
	if err != nil {
		return err
	}
	live := &liveSettings{
		metrics: &liveListener{name: "metrics", log: log, serve: func(ctx context.Context, addr string) (func(), net.Addr, error) {
			return met.Serve(ctx, addr, log)
		}},
		web:       &liveListener{name: "web", log: log},
		reports:   rep,
		met:       met,
		sandboxes: &sandboxes{providers: r.provider, signers: []ssh.Signer{key}, fleet: f, log: log, report: rep},
		log:       log,
	}
	live.web.serve = handlerServer("web", &live.dashboard, log)
	defer live.metrics.close()
	defer live.web.close()
	d, err := daemon.New(daemon.Config{
		ConfigPath: path,
		Fleet:      f,
		Engine: &daemon.ReconcileEngine{
			Provider: r.provider, Boxes: r.cache, Exclusive: r.locked,
			Applier: &reconcile.Applier{Provider: r.provider, Boxes: r.cache, MaxParallel: vb.MaxParallel, Log: log},
		},
		Queue: daemon.QueueClient{C: qc},
		OpenQueue: func(ctx context.Context, f *spec.Fleet) (daemon.Queue, func(), error) {
			next, err := openQueue(ctx, f, met, log)
			if err != nil {
				return nil, nil, err
			}
			return daemon.QueueClient{C: next}, func() { releaseLease(next, log); next.Close() }, nil
		},
		Reload:    live.reload,
		Sandboxes: live.sandboxes,
		Report:    rep,
		Metrics:   met,
		Log:       log,
		OnReady:   func() { sdNotify("READY=1") },
	})
	if err != nil {
		return err
	}
	live.host = &daemonHost{d: d}
	if err := live.start(f, qc); err != nil {
		return err
	}
	// Every dashboard of the fleet shows this host's worker VMs from the state it publishes.
	pubCtx, stopPub := context.WithCancel(ctx)
	pubDone := make(chan struct{})
	go func() { defer close(pubDone); publishHostState(pubCtx, &live.published, d, log) }()
	defer func() { stopPub(); <-pubDone }()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	log.Info("agent_started", "host", f.Host.Name, "config", path, "socket", d.SocketPath(), "pid", os.Getpid())
	stops := 0
	for {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			releaseLease(qc, log) // a queue a live edit moved to is released by the daemon
			return nil
		case s := <-sigs:
			switch s {
			case syscall.SIGHUP:
				log.Info("signal_reload")
				d.Reload()
			default:
				stops++
				if stops == 1 {
					log.Info("signal_stop", "signal", s.String(), "note", "waiting for running jobs; send again to cancel them")
					sdNotify("STOPPING=1")
					d.Stop()
				} else {
					log.Warn("signal_stop_now", "signal", s.String())
					cancel()
				}
			}
		}
	}
}

// sandboxes makes the sandbox of each worker VM.
type sandboxes struct {
	providers *hostProviders
	signers   []ssh.Signer
	log       *slog.Logger
	report    *report.Live // gets a copy of every job's log

	mu    sync.Mutex
	fleet *spec.Fleet // the fleet in force: a live edit replaces it (setFleet)
}

// setFleet makes f the fleet new sandboxes read their box's SSH user from.
func (s *sandboxes) setFleet(f *spec.Fleet) {
	s.mu.Lock()
	s.fleet = f
	s.mu.Unlock()
}

func (s *sandboxes) New(vm reconcile.VM, pool *spec.Pool, jobs sandbox.Queue, slot daemon.Slot) (daemon.Runner, error) {
	s.mu.Lock()
	f := s.fleet
	s.mu.Unlock()
	user := ""
	if b := f.Box(pool.Box); b != nil {
		user = b.SSH.User
	}
	svm, err := s.providers.SandboxVM(pool, vm.Name)
	if err != nil {
		return nil, err
	}
	sb, err := sandbox.New(sandbox.Config{
		VM: svm, Queue: jobs, Slot: slot, Guest: guest.Config{User: user, Signers: s.signers},
		Job: pool.Job, HostServices: pool.Network.HostServices, Rollback: pool.Rollback, StateDir: f.Host.StateDir,
		LogOutput: s.logOutput(),
	}, s.log.With("vm", vm.Name))
	if err != nil {
		return nil, err
	}
	return sb, nil
}

// logOutput is the sandbox's LogOutput: each job's log also goes to the reporters in force.
func (s *sandboxes) logOutput() func(jobID string) io.Writer {
	return func(jobID string) io.Writer { return report.NewLogWriter(s.report, jobID) }
}

// sdNotify tells systemd about the service state when run under Type=notify; without
// NOTIFY_SOCKET it does nothing.
func sdNotify(state string) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Write([]byte(state))
}

// redactURL hides a password in a Redis URL for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable redis url)"
}
