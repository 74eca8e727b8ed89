// Closing the host's loopback to guests. In NAT mode a guest reaches the host at 10.0.2.2, and
// before VirtualBox 7.0 that address was the host's 127.0.0.1: every service bound there (a
// local Redis, the metrics endpoint, a database) was open to every build. VirtualBox 7.0 added
// `modifyvm --nat-localhostreachable<N> on|off` and made "off" the default for new VMs only; a
// VM imported from a box or made by an older VirtualBox keeps reaching it. So the provider sets
// it off explicitly on every NAT adapter of every golden and worker it makes, before their
// first boot, and never trusts the default. Before 7.0 nothing can close it: `agent doctor`
// says so.
//
// A worker found with host loopback open (made before this, or changed behind the agent's
// back) is reported with reconcile.NetworkLegacy as its network policy, so `agent plan` shows
// it replaced, with the reason. It is replaced rather than reconfigured while powered off
// because the setting is part of the machine configuration that every rollback restores from
// the worker's ready snapshot: a worker changed in place would reopen at its next job. A
// golden is kept: its clones get the setting explicitly when they are made.

package vboxprovider

import (
	"context"
	"fmt"

	"github.com/fleet-agent/fleet/vbox"
)

// configure sets a new VM's memory and CPUs and closes host loopback on its NAT adapters, in
// one modifyvm call.
func (p *Provider) configure(ctx context.Context, uuid string, memory, cpus int) error {
	closed, err := p.loopbackOff(ctx, uuid)
	if err != nil {
		return err
	}
	return p.d.Modify(ctx, uuid, vbox.ModifyOptions{Memory: memory, CPUs: cpus, LocalhostReachable: closed})
}

// loopbackOff returns the setting that closes host loopback on every NAT adapter of vm: nil on
// VirtualBox before 7.0, which has no such setting.
func (p *Provider) loopbackOff(ctx context.Context, vm string) (map[int]bool, error) {
	v, err := p.virtualBoxVersion(ctx)
	if err != nil {
		return nil, err
	}
	if !v.AtLeast(7, 0) {
		return nil, nil
	}
	info, err := p.d.Info(ctx, vm)
	if err != nil {
		return nil, fmt.Errorf("read NAT adapters: %w", err)
	}
	off := map[int]bool{}
	for _, n := range info.NATAdapters() {
		off[n] = false
	}
	return off, nil
}

// virtualBoxVersion reads VBoxManage's version once; a failed read is tried again next time.
func (p *Provider) virtualBoxVersion(ctx context.Context) (vbox.Version, error) {
	p.mu.Lock()
	v := p.version
	p.mu.Unlock()
	if v != nil {
		return *v, nil
	}
	got, err := p.d.Version(ctx)
	if err != nil {
		return vbox.Version{}, fmt.Errorf("read VirtualBox version: %w", err)
	}
	if !got.AtLeast(7, 0) {
		p.log.Warn("host loopback open to builds", "virtualbox", got.String(),
			"why", "VirtualBox before 7.0 maps the NAT gateway 10.0.2.2 to this host's loopback; see agent doctor")
	}
	p.mu.Lock()
	p.version = &got
	p.mu.Unlock()
	return got, nil
}
