// A pool's `network` block: what a build may reach. The default keeps outbound network and
// nothing on the host's loopback ("isolated"); "none" drops every packet but the agent's own
// SSH; host_services opens exactly the listed host services, each appearing inside the guest at
// 127.0.0.1 on the same port while a job runs.
package spec

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// networkSchema is a pool's `network` block.
var networkSchema = &blockSchema{attrs: []string{"egress", "host_services"}}

// Egress policies accepted by network.egress.
const (
	// EgressIsolated keeps outbound network (package mirrors, git remotes) while nothing a
	// build sends reaches the host's own loopback services. The default.
	EgressIsolated = "isolated"
	// EgressNone drops everything a build sends; only the agent's SSH into the guest works.
	// QEMU pools only: VirtualBox NAT cannot drop egress.
	EgressNone = "none"
)

// Network is a pool's `network` block.
type Network struct {
	// Egress is EgressIsolated (the default) or EgressNone.
	Egress string
	// HostServices are host services ("127.0.0.1:3142") a build may reach: each is forwarded
	// into the guest over the agent's SSH connection and listens there at 127.0.0.1 on the same
	// port while a job runs. Hosts are loopback IP literals, ports 1024 and up (the guest's
	// listener belongs to the build user); no duplicates. Default: none.
	HostServices []string
	// EgressRange and HostServicesRange are the attributes' values, for diagnostics; zero when
	// absent.
	EgressRange, HostServicesRange hcl.Range
}

// network decodes a pool's network block (n may be nil) for a pool of provider.
func (d *decoder) network(n *node, provider string) Network {
	var w Network
	var a *hcl.Attribute
	w.Egress, a = d.str(n, "egress", EgressIsolated)
	if a != nil {
		w.EgressRange = a.Expr.Range()
		switch {
		case w.Egress != EgressIsolated && w.Egress != EgressNone:
			d.errorf(a.Expr.Range(), "Unsupported egress policy", "egress %q is not known; use %q (outbound network, no host loopback) or %q (no network at all).",
				w.Egress, EgressIsolated, EgressNone)
			w.Egress = EgressIsolated
		case w.Egress == EgressNone && provider != ProviderQEMU:
			d.errorf(a.Expr.Range(), "Egress policy not supported by the provider",
				"egress = %q needs provider = %q: VirtualBox NAT cannot drop a guest's outbound traffic. Use a QEMU pool, or leave egress out (builds keep outbound network, host loopback stays closed).",
				EgressNone, ProviderQEMU)
		}
	}
	w.HostServices, a = d.strs(n, "host_services", nil)
	if a == nil {
		return w
	}
	w.HostServicesRange = a.Expr.Range()
	ranges := elemRanges(a, len(w.HostServices))
	seen := map[string]bool{}
	for i, s := range w.HostServices {
		ap, err := ParseHostService(s)
		switch {
		case err != nil:
			d.errorf(ranges[i], "Invalid host service", "%s.", err)
		case ap.Port() < 1024:
			d.errorf(ranges[i], "Privileged host service port",
				"port %d is below 1024: the guest listens for it as the build user, which may not bind privileged ports; serve it on the host at a port from 1024 up.", ap.Port())
		case seen[ap.String()]:
			d.errorf(ranges[i], "Duplicate host service", "host service %q is listed twice; remove one.", s)
		case seenPort(seen, ap.Port()):
			d.errorf(ranges[i], "Host service port used twice",
				"port %d is already listed; every host service appears in the guest at 127.0.0.1 on its own port, so two services cannot share one.", ap.Port())
		}
		if err == nil {
			seen[ap.String()] = true
		}
	}
	return w
}

// seenPort reports whether a host service on port is among seen.
func seenPort(seen map[string]bool, port uint16) bool {
	for s := range seen {
		if netip.MustParseAddrPort(s).Port() == port {
			return true
		}
	}
	return false
}

// ParseHostService parses a host_services entry: "IP:PORT" (IPv6 as "[::1]:PORT") with IP a
// loopback literal and PORT 1..65535. Only loopback is allowed: a service on another address
// of the host or the network is reachable by a build's normal egress already (or, with egress
// = "none", must stay unreachable), and a name would be resolved by the agent at every job.
func ParseHostService(s string) (netip.AddrPort, error) {
	host, port, ok := strings.Cut(s, ":")
	if strings.HasPrefix(s, "[") {
		i := strings.Index(s, "]:")
		if i < 0 {
			return netip.AddrPort{}, fmt.Errorf("host service %q is not host:port; write IPv6 as \"[::1]:3142\"", s)
		}
		host, port, ok = s[1:i], s[i+2:], true
	}
	if !ok || host == "" || port == "" {
		return netip.AddrPort{}, fmt.Errorf("host service %q is not host:port, like \"127.0.0.1:3142\"", s)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("host service %q: host %q is not an IP address; write a loopback address like 127.0.0.1 (names are not resolved)", s, host)
	}
	ip = ip.Unmap()
	if !ip.IsLoopback() {
		return netip.AddrPort{}, fmt.Errorf("host service %q: %s is not a loopback address; only services on the host's loopback (127.0.0.0/8, ::1) are forwarded", s, ip)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(port, "0123456789") != "" {
		return netip.AddrPort{}, fmt.Errorf("host service %q: port %q is not a number from 1 to 65535", s, port)
	}
	return netip.AddrPortFrom(ip, uint16(n)), nil
}
