// This file decodes the web block: where `agent run` also serves the fleet
// dashboard that `agent web` serves standalone, and who may change anything
// through it.

package spec

import (
	"net"
	"os"
	"strconv"

	"github.com/zclconf/go-cty/cty"
)

// Web configures the optional dashboard served by `agent run`.
type Web struct {
	// Listen is the host:port of the dashboard; empty (the default) serves nothing.
	Listen string
	// AuthFile holds the token that enables Retry and Remove (basic auth
	// password or bearer token); empty: the dashboard changes nothing.
	AuthFile string
	// ReadOnly refuses every change even with the token.
	ReadOnly bool
}

func (d *decoder) web(n *node) Web {
	var w Web
	if v, a := d.value(n, "read_only", cty.Bool); a != nil {
		w.ReadOnly = v.True()
	}
	w.AuthFile = d.path(n, "auth_file", "", "")
	if w.AuthFile != "" {
		rng := n.attrs["auth_file"].Expr.Range()
		if _, err := ReadPasswordFile(w.AuthFile); err != nil {
			d.errorf(rng, "Unreadable auth_file", "%s; the dashboard's token must be readable by the agent.", err)
		} else if st, err := os.Stat(w.AuthFile); err == nil && st.Mode().Perm()&0o077 != 0 {
			d.warnf(rng, "Token file readable by others",
				"%s has mode %s; other users of this host can read the dashboard's token. chmod 600 it.", w.AuthFile, st.Mode().Perm())
		}
	}
	listen, a := d.str(n, "listen", "")
	if a == nil {
		return w
	}
	_, port, err := net.SplitHostPort(listen)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 0 || p > 65535 {
		d.errorf(a.Expr.Range(), "Invalid listen address",
			"%q must be host:port, like \"127.0.0.1:8383\" (reading the dashboard needs no login: keep it on loopback or behind an authenticating proxy).", listen)
		return w
	}
	w.Listen = listen
	return w
}
