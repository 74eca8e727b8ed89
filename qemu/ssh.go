// SSH into guests: waiting for a booted or restored VM, and setting the guest clock after a
// restore (a restored guest's clock is the snapshot's time, QEMU-SPIKE.md §5). The steps every
// provider shares (box keys, chef-solo, the ready marker) are in package golden.

package qemu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
)

// waitSSH waits for the VM's SSH on 127.0.0.1:port. With hostKey empty the key presented is
// trusted (the moment a fresh VM becomes ready); otherwise it must match.
func (p *Provider) waitSSH(ctx context.Context, vm string, port int, user, hostKey string, extra []ssh.Signer) (*guest.Client, error) {
	if user == "" {
		user = "vagrant"
	}
	cfg := guest.Config{
		VM: vm, Addr: hostPort(port), User: user,
		Signers:         append([]ssh.Signer{p.key}, extra...),
		HostKey:         hostKey,
		TrustOnFirstUse: hostKey == "",
		DialTimeout:     5 * time.Second,
		Log:             p.log,
	}
	return guest.WaitForSSH(ctx, cfg, p.cfg.BootTimeout)
}

// runner is the part of a guest connection the helpers below need.
type runner interface {
	Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error
}

// setClock sets the guest's clock to the host's (UTC seconds).
func setClock(ctx context.Context, c runner) error {
	var stderr bytes.Buffer
	cmd := fmt.Sprintf("date -u -s @%d >/dev/null || sudo -n date -u -s @%d >/dev/null", time.Now().Unix(), time.Now().Unix())
	if err := c.Run(ctx, cmd, nil, &stderr); err != nil {
		return fmt.Errorf("set guest clock: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
