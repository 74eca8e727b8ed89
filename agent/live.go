// Live reload for `agent run`: the settings a saved fleet.hcl changes that the daemon does not
// own itself. The metrics and web listeners move to a new address (the new one is bound before
// the old one is closed, so a bind failure rejects the edit and the old listener keeps
// serving), the dashboard follows a moved queue, the report blocks are updated in place
// (report.Live) and new sandboxes read the edited boxes. Everything is prepared first and put
// in force only when every part is ready: an edit is taken all or nothing.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/fleet-agent/fleet/agent/internal/web"
	"github.com/fleet-agent/fleet/daemon"
	"github.com/fleet-agent/fleet/metrics"
	"github.com/fleet-agent/fleet/queue"
	"github.com/fleet-agent/fleet/report"
	"github.com/fleet-agent/fleet/spec"
)

// openQueue opens and pings the queue of f; its reaper's recoveries are counted in met.
func openQueue(ctx context.Context, f *spec.Fleet, met *metrics.Metrics, log *slog.Logger) (*queue.Client, error) {
	qc, err := queue.Open(queue.Config{URL: f.Queue.Redis, Credentials: queueCredentials(f.Queue.Credentials),
		Namespace: f.Queue.Namespace, Host: f.Host.Name, MaxAttempts: f.Queue.MaxAttempts, HostLease: f.Queue.HostLease,
		HeartbeatInterval: f.Queue.Heartbeat, OnRecovered: met.JobRecovered, OutboxDir: outboxDir(f)}, log)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := qc.Redis().Ping(pctx).Err(); err != nil {
		qc.Close()
		return nil, fmt.Errorf("queue %s: %w", redactURL(f.Queue.Redis), err)
	}
	return qc, nil
}

// reportConfigs is the reporters' configs of f, each counting its drops in met.
func reportConfigs(f *spec.Fleet, met *metrics.Metrics) []report.Config {
	cfgs := daemon.ReportConfigs(f.Reports)
	for i := range cfgs {
		receiver := cfgs[i].RedactedURL()
		cfgs[i].OnDrop = func(kind string) { met.ReportDropped(receiver, kind) }
	}
	return cfgs
}

// served is one bound HTTP listener.
type served struct {
	addr string
	stop func() // shuts the server down and waits for it
}

// liveListener is an HTTP listener a live edit can move, stop or start. Only the daemon's
// loop calls prepare (one edit at a time); close runs after the daemon has returned.
type liveListener struct {
	name string // "metrics", "web": for logs
	// serve listens on addr and serves until ctx ends; wait waits for the server to stop.
	serve func(ctx context.Context, addr string) (wait func(), bound net.Addr, err error)
	log   *slog.Logger
	cur   *served // nil: not listening
}

// handlerServer is a liveListener's serve for h (serveHTTP), logging how the server ended.
func handlerServer(name string, h http.Handler, log *slog.Logger) func(ctx context.Context, addr string) (func(), net.Addr, error) {
	return func(ctx context.Context, addr string) (func(), net.Addr, error) {
		done, bound, err := serveHTTP(ctx, name, addr, h)
		if err != nil {
			return nil, nil, err
		}
		return func() {
			if err := <-done; err != nil {
				log.Warn("listener_stopped", "listener", name, "err", err)
			}
		}, bound, nil
	}
}

// bind serves on addr until the returned listener is stopped.
func (l *liveListener) bind(addr string) (*served, error) {
	ctx, cancel := context.WithCancel(context.Background())
	wait, bound, err := l.serve(ctx, addr)
	if err != nil {
		cancel()
		return nil, err
	}
	l.log.Info("listening", "listener", l.name, "addr", bound.String())
	return &served{addr: addr, stop: func() {
		cancel()
		wait()
	}}, nil
}

// prepare binds addr ("" to stop listening) without closing the current listener; commit
// closes the old one, abort the new one. The same address needs nothing.
func (l *liveListener) prepare(addr string) (commit, abort func(), err error) {
	nop := func() {}
	old := l.cur
	if (old == nil && addr == "") || (old != nil && old.addr == addr) {
		return nop, nop, nil
	}
	var next *served
	if addr != "" {
		if next, err = l.bind(addr); err != nil {
			return nil, nil, err
		}
	}
	commit = func() {
		if old != nil {
			old.stop()
		}
		l.cur = next
	}
	abort = func() {
		if next != nil {
			next.stop()
		}
	}
	return commit, abort, nil
}

// close stops the listener.
func (l *liveListener) close() {
	if l.cur != nil {
		l.cur.stop()
		l.cur = nil
	}
}

// swapHandler serves the handler most recently set.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// livePublisher publishes the host state into the queue in force (hostStatePublisher).
type livePublisher struct{ cur atomic.Pointer[queue.Client] }

func (p *livePublisher) PutHostState(ctx context.Context, state []byte) error {
	return p.cur.Load().PutHostState(ctx, state)
}

func (p *livePublisher) DeleteHostState(ctx context.Context) error {
	return p.cur.Load().DeleteHostState(ctx)
}

// move publishes into qc from now on and removes the state from the queue it leaves.
func (p *livePublisher) move(qc *queue.Client, log *slog.Logger) {
	old := p.cur.Swap(qc)
	if old == nil || old == qc {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := old.DeleteHostState(ctx); err != nil {
		log.Debug("host_state_remove_failed", "err", err)
	}
}

// dashboardKey is what the dashboard is built from: a change rebuilds it.
type dashboardKey struct {
	qc       *queue.Client
	ns       string
	readOnly bool
	authFile string
}

func dashboardKeyOf(f *spec.Fleet, qc *queue.Client) dashboardKey {
	return dashboardKey{qc: qc, ns: f.Queue.Namespace, readOnly: f.Web.ReadOnly, authFile: f.Web.AuthFile}
}

// liveSettings is the daemon's Config.Reload. Only the daemon's loop calls reload; start runs
// before the daemon does.
type liveSettings struct {
	metrics, web *liveListener
	dashboard    swapHandler // what web serves
	dashKey      dashboardKey
	host         web.HostSource // the Host page of the dashboard
	published    livePublisher
	reports      *report.Live
	met          *metrics.Metrics // counts the reporters' drops
	sandboxes    *sandboxes
	log          *slog.Logger
}

// start serves the listeners of f, whose queue client is qc.
func (s *liveSettings) start(f *spec.Fleet, qc *queue.Client) error {
	dash, err := s.newDashboard(f, qc)
	if err != nil {
		return err
	}
	s.dashboard.set(dash.Handler())
	s.dashKey = dashboardKeyOf(f, qc)
	s.published.move(qc, s.log)
	for _, l := range []struct {
		l    *liveListener
		addr string
	}{{s.metrics, f.Metrics.Listen}, {s.web, f.Web.Listen}} {
		commit, _, err := l.l.prepare(l.addr)
		if err != nil {
			return err
		}
		commit()
	}
	return nil
}

// newDashboard builds the dashboard of f over qc.
func (s *liveSettings) newDashboard(f *spec.Fleet, qc *queue.Client) (*web.Server, error) {
	opts := web.Options{ReadOnly: f.Web.ReadOnly, Host: s.host}
	if f.Web.AuthFile != "" {
		tok, err := spec.ReadPasswordFile(f.Web.AuthFile)
		if err != nil {
			return nil, &daemon.SettingError{Setting: "web.auth_file", Err: err}
		}
		opts.Token = tok
	}
	return web.New(qc.Redis(), f.Queue.Namespace, opts)
}

// reload takes new's listeners, dashboard, report blocks and boxes, all or nothing.
func (s *liveSettings) reload(ctx context.Context, old, new *spec.Fleet, q daemon.Queue) error {
	var commits, aborts []func()
	fail := func(setting string, err error) error {
		for _, a := range aborts {
			a()
		}
		var se *daemon.SettingError
		if errors.As(err, &se) {
			return se
		}
		return &daemon.SettingError{Setting: setting, Err: err}
	}
	c, a, err := s.metrics.prepare(new.Metrics.Listen)
	if err != nil {
		return fail("metrics.listen", err)
	}
	commits, aborts = append(commits, c), append(aborts, a)
	qc := q.(daemon.QueueClient).C // openQueue made it
	if key := dashboardKeyOf(new, qc); key != s.dashKey {
		dash, err := s.newDashboard(new, qc)
		if err != nil {
			return fail("web", err)
		}
		commits = append(commits, func() {
			s.dashboard.set(dash.Handler())
			s.dashKey = key
			s.published.move(qc, s.log)
		})
	}
	c, a, err = s.web.prepare(new.Web.Listen)
	if err != nil {
		return fail("web.listen", err)
	}
	commits, aborts = append(commits, c), append(aborts, a)
	if err := s.reports.Update(reportConfigs(new, s.met)); err != nil {
		return fail("report", err)
	}
	for _, c := range commits {
		c()
	}
	s.sandboxes.setFleet(new)
	return nil
}

// serveHTTP serves h on listen until ctx ends; done yields nil after a clean shutdown, or the
// error that stopped it. Requests' contexts end with ctx (BaseContext), so long-lived
// responses (a live log) do not hold the shutdown up.
func serveHTTP(ctx context.Context, name, listen string, h http.Handler) (done <-chan error, addr net.Addr, err error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: listen %s: %w", name, listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	out := make(chan error, 1)
	go func() {
		select {
		case err := <-served:
			out <- fmt.Errorf("%s: serve: %w", name, err)
			return
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		<-served
		out <- err
	}()
	return out, ln.Addr(), nil
}
