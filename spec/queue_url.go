// This file checks queue.redis beyond its scheme: the Sentinel form
// (redis://SENTINEL:PORT/DB?master_name=NAME&addr=SENTINEL2:PORT...) and the
// Cluster form (addr= without master_name) must name usable host:port
// addresses, so a typo is a located diagnostic and not a connection that
// fails at run time.

package spec

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
)

// redisURLProblem says what is wrong with a queue.redis URL, or "" when nothing is. The
// URL's password never appears in the answer.
func redisURLProblem(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !slices.Contains([]string{"redis", "rediss", "unix"}, u.Scheme) {
		return fmt.Sprintf("%s must be a redis://, rediss:// or unix:// URL, like %q.", redactedURL(raw), defaultRedis)
	}
	q := u.Query()
	masters, addrs := q["master_name"], q["addr"]
	if len(masters) == 0 && len(addrs) == 0 {
		return ""
	}
	form := "A Redis Cluster URL (addr= parameters)"
	if len(masters) > 0 {
		form = "A Redis Sentinel URL (master_name=)"
		if len(masters) > 1 || masters[0] == "" {
			return form + " needs exactly one non-empty master_name, the name the Sentinels monitor (sentinel monitor NAME ...)."
		}
	}
	if u.Scheme == "unix" {
		return form + " must use redis:// or rediss://, not unix://."
	}
	if msg := hostPortProblem(u.Host); msg != "" {
		return fmt.Sprintf("%s needs host:port of a %s after //: %s.", form, nodeKind(len(masters) > 0), msg)
	}
	for _, a := range addrs {
		if msg := hostPortProblem(a); msg != "" {
			return fmt.Sprintf("%s: addr=%q: %s; each addr= names one more %s as host:port.", form, a, msg, nodeKind(len(masters) > 0))
		}
	}
	return ""
}

func nodeKind(sentinel bool) string {
	if sentinel {
		return "Sentinel"
	}
	return "cluster node"
}

// hostPortProblem checks one host:port.
func hostPortProblem(hp string) string {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", hp)
	}
	if host == "" {
		return fmt.Sprintf("%q has no host", hp)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q has no port between 1 and 65535", hp)
	}
	return ""
}
