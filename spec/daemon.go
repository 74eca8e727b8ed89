// The blocks only the daemon (`agent run`) reads: how often it resyncs with VirtualBox when
// nothing asks it to, and where it serves Prometheus metrics.
package spec

import (
	"net"
	"strconv"
	"time"
)

// Reconcile tunes the daemon's reconcile loop.
type Reconcile struct {
	// Resync is how often a pass runs when nothing else requests one (file change, worker
	// event, SIGHUP), so drift such as a VM powered off by hand is repaired. Default 30s;
	// at least 1s.
	Resync time.Duration
}

// Metrics configures the optional Prometheus endpoint.
type Metrics struct {
	// Listen is the host:port served at /metrics; empty (the default) serves nothing.
	Listen string
}

const defaultResync = 30 * time.Second

func (d *decoder) reconcile(n *node) Reconcile {
	r := Reconcile{Resync: d.duration(n, "resync", defaultResync)}
	if r.Resync < time.Second && n != nil && n.attrs["resync"] != nil {
		d.errorf(n.attrs["resync"].Expr.Range(), "Resync too short",
			"resync must be at least 1s: each pass lists every VM through VBoxManage; write e.g. \"30s\".")
		r.Resync = defaultResync
	}
	return r
}

func (d *decoder) metrics(n *node) Metrics {
	var m Metrics
	listen, a := d.str(n, "listen", "")
	if a == nil {
		return m
	}
	host, port, err := net.SplitHostPort(listen)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 0 || p > 65535 {
		d.errorf(a.Expr.Range(), "Invalid listen address",
			"%q must be host:port, like \"127.0.0.1:9464\" (or \":9464\" for every interface).", listen)
		return m
	}
	_ = host
	m.Listen = listen
	return m
}
