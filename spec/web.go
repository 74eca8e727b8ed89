// This file decodes the web block: where `agent run` also serves the fleet
// dashboard that `agent web` serves standalone.

package spec

import (
	"net"
	"strconv"
)

// Web configures the optional dashboard served by `agent run`.
type Web struct {
	// Listen is the host:port of the dashboard; empty (the default) serves nothing.
	Listen string
}

func (d *decoder) web(n *node) Web {
	var w Web
	listen, a := d.str(n, "listen", "")
	if a == nil {
		return w
	}
	_, port, err := net.SplitHostPort(listen)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 0 || p > 65535 {
		d.errorf(a.Expr.Range(), "Invalid listen address",
			"%q must be host:port, like \"127.0.0.1:8383\" (the dashboard has no login: keep it on loopback or behind an authenticating proxy).", listen)
		return w
	}
	w.Listen = listen
	return w
}
