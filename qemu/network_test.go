package qemu

import (
	"slices"
	"strings"
	"testing"

	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
)

// TestNetdevArgsFollowTheEgressPolicy checks the network half of the qemu and passt command
// lines: isolated guests get a passt stream and a passt that does not map the gateway to the
// host and binds the SSH forward on 127.0.0.1 only; egress none gets the restricted user
// network with only the SSH forward.
func TestNetdevArgsFollowTheEgressPolicy(t *testing.T) {
	cases := []struct {
		name       string
		f          facts
		wantNetdev string
		wantPasst  bool
	}{
		{"default is isolated", facts{SSHPort: 2201}, "stream,id=n0,server=off,addr.type=fd,addr.str=3", true},
		{"isolated", facts{SSHPort: 2201, Egress: spec.EgressIsolated, GuestSSH: 2222}, "stream,id=n0,server=off,addr.type=fd,addr.str=3", true},
		{"none", facts{SSHPort: 2201, Egress: spec.EgressNone}, "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:2201-:22", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := netdevArgs(&c.f, 3)
			if len(got) != 2 || got[0] != "-netdev" || got[1] != c.wantNetdev {
				t.Errorf("netdevArgs = %q, want -netdev %s", got, c.wantNetdev)
			}
			if (egressOf(&c.f) == spec.EgressIsolated) != c.wantPasst {
				t.Errorf("egressOf = %s", egressOf(&c.f))
			}
			if !c.wantPasst {
				return
			}
			a := passtArgs(&c.f, 3)
			guest := "22"
			if c.f.GuestSSH != 0 {
				guest = "2222"
			}
			for _, want := range [][]string{{"--no-map-gw"}, {"--foreground"}, {"--tcp-ports", "127.0.0.1/2201:" + guest},
				{"--address", "10.0.2.15"}, {"--gateway", "10.0.2.2"}, {"--dns-forward", "10.0.2.3"}, {"--fd", "3"}, {"--udp-ports", "none"}} {
				i := slices.Index(a, want[0])
				if i < 0 || len(want) == 2 && (i+1 >= len(a) || a[i+1] != want[1]) {
					t.Errorf("passt args %q lack %q", a, strings.Join(want, " "))
				}
			}
		})
	}
}

// TestIsPasstStrayMatchesOnlyThisVMsPasst checks how Destroy finds a passt whose pid was never
// recorded: a passt forwarding the VM's SSH port, not another VM's, not another program.
func TestIsPasstStrayMatchesOnlyThisVMsPasst(t *testing.T) {
	cmd := func(args ...string) []byte { return []byte(strings.Join(args, "\x00") + "\x00") }
	passt := func(port string) []byte {
		return cmd("/usr/bin/passt.avx2", "--foreground", "--tcp-ports", "127.0.0.1/"+port+":22", "--fd", "3")
	}
	cases := []struct {
		name    string
		cmdline []byte
		want    bool
	}{
		{"this VM's passt", passt("2201"), true},
		{"another VM's passt", passt("22010"), false},
		{"another port prefix", passt("220"), false},
		{"not passt", cmd("nc", "--tcp-ports", "127.0.0.1/2201:22"), false},
		{"empty", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := isPasstStray(c.cmdline, 2201); got != c.want {
				t.Errorf("isPasstStray(%q) = %v, want %v", c.cmdline, got, c.want)
			}
		})
	}
}

// TestWorkerNetworkPolicyIsObserved checks what Observe reports as a worker's network: the
// recorded policy, or reconcile.NetworkLegacy for a worker made before policies were recorded
// (its qemu user network reached the host's loopback), so that it is replaced.
func TestWorkerNetworkPolicyIsObserved(t *testing.T) {
	cases := []struct {
		name string
		f    facts
		want string
	}{
		{"recorded", facts{Role: reconcile.RoleWorker, Network: "egress=none"}, "egress=none"},
		{"worker without record", facts{Role: reconcile.RoleWorker}, reconcile.NetworkLegacy},
		{"golden", facts{Role: reconcile.RoleGolden}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := toVM("id", &c.f, false).Network; got != c.want {
				t.Errorf("network = %q, want %q", got, c.want)
			}
		})
	}
}
