// SSH into guests: waiting for a booted VM with the agent's key offered first. The steps every
// provider shares (box keys, chef-solo, the ready marker) are in package golden.

package vboxprovider

import (
	"context"
	"net"
	"strconv"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
)

// waitSSH waits for the VM's SSH on 127.0.0.1:port. With hostKey empty the key presented is
// trusted (the moment a fresh VM becomes ready); otherwise it must match. The agent's key is
// offered first, then extra.
func (p *Provider) waitSSH(ctx context.Context, vm string, port int, user, hostKey string, extra []ssh.Signer) (*guest.Client, error) {
	if user == "" {
		user = "vagrant"
	}
	cfg := guest.Config{
		VM:              vm,
		Addr:            net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		User:            user,
		Signers:         append([]ssh.Signer{p.key}, extra...),
		HostKey:         hostKey,
		TrustOnFirstUse: hostKey == "",
		DialTimeout:     p.cfg.SSHDialTimeout,
		Log:             p.log,
	}
	return guest.WaitForSSH(ctx, cfg, p.cfg.BootTimeout)
}

func sshPort(b reconcile.BoxSpec) int {
	if b.Spec != nil && b.Spec.SSH.Port > 0 {
		return b.Spec.SSH.Port
	}
	return 22
}
