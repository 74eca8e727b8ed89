// SSH into guests: waiting for a booted VM, the keys offered, and provisioning a golden with
// chef-solo over the guest connection.

package vboxprovider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/chef"
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

// boxSigners returns the key a fresh box accepts: the box's private_key, or Vagrant's
// insecure key.
func (p *Provider) boxSigners(b reconcile.BoxSpec) ([]ssh.Signer, error) {
	if b.Spec == nil || b.Spec.SSH.PrivateKey == "" {
		return []ssh.Signer{guest.VagrantInsecureSigner()}, nil
	}
	pem, err := os.ReadFile(b.Spec.SSH.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("box %s key: %w", b.Name, err)
	}
	s, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return nil, fmt.Errorf("box %s key %s: %w", b.Name, b.Spec.SSH.PrivateKey, err)
	}
	return []ssh.Signer{s}, nil
}

// provision runs chef-solo (when the pool has a provision block), then makes the agent's key
// the only way in.
func (p *Provider) provision(ctx context.Context, c *guest.Client, r reconcile.GoldenRequest) error {
	if ps := r.Pool.Spec; ps != nil && ps.Provision != nil {
		cs := ps.Provision
		res, err := chef.Resolve(cs.Cookbooks, cs.Recipes)
		if err != nil {
			return fmt.Errorf("resolve recipes: %w", err)
		}
		bundle, err := chef.Bundle(res, chef.Node{Attributes: cs.Attributes})
		if err != nil {
			return fmt.Errorf("bundle cookbooks: %w", err)
		}
		log := p.cfg.ProvisionLog
		if log == nil {
			log = io.Discard
		}
		opts := chef.Options{Sudo: cs.SudoPath, ChefSolo: cs.ChefSoloPath, Timeout: cs.Timeout}
		if err := chef.Provision(ctx, chefSession{c}, bundle, opts, log); err != nil {
			return err
		}
	}
	if err := guest.InstallAgentKey(ctx, c, p.key.PublicKey()); err != nil {
		return fmt.Errorf("install agent key: %w", err)
	}
	return nil
}

// chefSession adapts a guest connection to chef.Session, whose exit errors have ExitCode().
type chefSession struct{ c *guest.Client }

func (s chefSession) Upload(ctx context.Context, path string, mode os.FileMode, r io.Reader) error {
	return s.c.Upload(ctx, path, mode, r)
}

func (s chefSession) Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error {
	err := s.c.Run(ctx, cmd, stdout, stderr)
	var ee *guest.ExitError
	if errors.As(err, &ee) {
		return exitCodeError{ee}
	}
	return err
}

type exitCodeError struct{ *guest.ExitError }

func (e exitCodeError) ExitCode() int { return e.Code }
func (e exitCodeError) Unwrap() error { return e.ExitError }

func sshPort(b reconcile.BoxSpec) int {
	if b.Spec != nil && b.Spec.SSH.Port > 0 {
		return b.Spec.SSH.Port
	}
	return 22
}

func sshUser(b reconcile.BoxSpec) string {
	if b.Spec != nil && b.Spec.SSH.User != "" {
		return b.Spec.SSH.User
	}
	return "vagrant"
}
