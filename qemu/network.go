// The guest network of a QEMU VM: what a build may reach (pool `network` block, spec/network.go).
//
//   - egress "isolated" (the default, and every golden): passt, one process per VM, started by
//     the provider in the foreground beside qemu and connected to it through a socketpair
//     (passt -F, qemu -netdev stream,addr.type=fd). passt runs with --no-map-gw, so the guest's
//     gateway 10.0.2.2 is not the host's loopback (QEMU's user network maps it there, and any
//     service the host keeps on 127.0.0.1 was open to every build); it forwards the guest's
//     DNS at 10.0.2.3 to the host's resolver and the agent's SSH port from 127.0.0.1 only.
//     passt drops to user nobody; a socketpair needs no socket file it could not reach.
//   - egress "none": QEMU's user network with restrict=on: only the explicit SSH forward from
//     127.0.0.1 works, every packet the guest sends elsewhere is dropped (also to the host).
//
// passt is part of the VM: its pid and start time are in vm.json beside qemu's, a VM whose
// passt died is not running (observed as aborted and repaired), and killing the VM kills both.

package qemu

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/spec"
)

// The guest's static network, as the test image and the demo's guests configure it; passt
// is told the same so its ARP, DHCP and DNS answers fit.
const (
	guestAddr    = "10.0.2.15"
	guestPrefix  = "24"
	guestGateway = "10.0.2.2"
	guestDNS     = "10.0.2.3"
)

// passtLog is the VM folder's passt output.
const passtLog = "passt.log"

// DefaultPasst is the passt binary looked up in PATH (Debian package passt).
const DefaultPasst = "passt"

// egressOf is the egress a VM's facts ask for; goldens and VMs made before egress was recorded
// are isolated.
func egressOf(f *facts) string {
	if f.Egress == spec.EgressNone {
		return spec.EgressNone
	}
	return spec.EgressIsolated
}

// networkOf is the policy recorded with a worker made from pool (reconcile.KeyNetwork).
func networkOf(pool reconcile.PoolSpec) (policy, egress string) {
	n := spec.Network{}
	if pool.Spec != nil {
		n = pool.Spec.Network
	}
	policy = pool.Network
	if policy == "" {
		policy = reconcile.NetworkPolicy(n)
	}
	return policy, egressOf(&facts{Egress: n.Egress})
}

// netdevArgs is qemu's -netdev for f: the passt stream on fd (the child's fd number) when
// isolated, the restricted user network when egress is none.
func netdevArgs(f *facts, fd int) []string {
	guest := f.GuestSSH
	if guest == 0 {
		guest = 22
	}
	if egressOf(f) == spec.EgressNone {
		return []string{"-netdev", fmt.Sprintf("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:%d", f.SSHPort, guest)}
	}
	return []string{"-netdev", fmt.Sprintf("stream,id=n0,server=off,addr.type=fd,addr.str=%d", fd)}
}

// passtArgs is passt's command line for f, talking to the guest over fd (its fd number).
func passtArgs(f *facts, fd int) []string {
	guest := f.GuestSSH
	if guest == 0 {
		guest = 22
	}
	return []string{
		"--foreground", "--stderr", "--quiet", "--ipv4-only", "--no-map-gw",
		"--address", guestAddr, "--netmask", guestPrefix, "--gateway", guestGateway,
		"--dns-forward", guestDNS,
		"--tcp-ports", passtForward(f.SSHPort, guest), "--udp-ports", "none",
		"--fd", strconv.Itoa(fd),
	}
}

// passtForward is passt's TCP forward of the agent's SSH port: bound on 127.0.0.1 only. It
// also marks the process as this VM's (the port is allocated to one VM at a time), for
// killStrays.
func passtForward(hostPort, guestPort int) string {
	return fmt.Sprintf("127.0.0.1/%d:%d", hostPort, guestPort)
}

// startNetwork prepares f's guest network before qemu starts: for an isolated VM it starts
// passt on one end of a socketpair, records its pid and start time in the facts, and returns
// the other end for qemu (its fd 3). It returns nil for egress none. The caller closes the
// returned file once qemu has it.
func (p *Provider) startNetwork(name string, f *facts) (*os.File, error) {
	if egressOf(f) == spec.EgressNone {
		return nil, nil
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("start passt: socketpair: %w", err)
	}
	passtEnd, qemuEnd := os.NewFile(uintptr(fds[0]), "passt"), os.NewFile(uintptr(fds[1]), "qemu")
	defer passtEnd.Close()
	out, err := os.OpenFile(filepath.Join(p.dir(name), passtLog), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		qemuEnd.Close()
		return nil, fmt.Errorf("start passt: %w", err)
	}
	cmd := exec.Command(p.cfg.Passt, passtArgs(f, 3)...)
	cmd.Dir = p.dir(name)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{passtEnd}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pid, err := p.spawn(cmd, out)
	if err != nil {
		qemuEnd.Close()
		return nil, fmt.Errorf("start passt: %w", err)
	}
	start, err := procStart(pid)
	if err == nil {
		_, err = p.update(name, func(g *facts) { g.PasstPID, g.PasstStart = pid, start })
	}
	if err != nil {
		killProc(pid, start)
		qemuEnd.Close()
		return nil, fmt.Errorf("start passt: %w", err)
	}
	f.PasstPID, f.PasstStart = pid, start
	return qemuEnd, nil
}

// running reports whether f's VM runs: its qemu, and its passt when it has one (a qemu whose
// passt died has no network, not even the agent's SSH, and counts as dead).
func (f *facts) running() bool {
	if !alive(f.PID, f.Start) {
		return false
	}
	return f.PasstPID == 0 || alive(f.PasstPID, f.PasstStart)
}

// passtLogTail is the end of the VM's passt.log, for errors.
func (p *Provider) passtLogTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(p.dir(name), passtLog))
	return string(tail(bytes.TrimSpace(b), 400))
}

// isPasstStray reports whether cmdline (NUL-separated, from /proc) is a passt forwarding
// hostPort: the passt of a VM whose pid was never recorded.
func isPasstStray(cmdline []byte, hostPort int) bool {
	args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
	if len(args) == 0 || !bytes.Contains([]byte(filepath.Base(string(args[0]))), []byte("passt")) {
		return false
	}
	want := []byte(fmt.Sprintf("127.0.0.1/%d:", hostPort))
	for i, a := range args {
		if bytes.Equal(a, []byte("--tcp-ports")) && i+1 < len(args) && bytes.HasPrefix(args[i+1], want) {
			return true
		}
	}
	return false
}
