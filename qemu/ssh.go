// SSH into guests: waiting for a booted or restored VM, the keys offered, provisioning a
// golden with chef-solo, the ready marker, and setting the guest clock after a restore (a
// restored guest's clock is the snapshot's time, QEMU-SPIKE.md §5).

package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/chef"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
)

// markerFile is sandbox.MarkerFile, relative to the build user's home.
const markerFile = ".fleet/ready"

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

// boxSigners returns the key a fresh box accepts: the box's private_key, or Vagrant's.
func boxSigners(b reconcile.BoxSpec) ([]ssh.Signer, error) {
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

func sshUser(b reconcile.BoxSpec) string {
	if b.Spec != nil && b.Spec.SSH.User != "" {
		return b.Spec.SSH.User
	}
	return "vagrant"
}

// provision runs chef-solo (when the pool has a provision block), then makes the agent's key
// the way in.
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

// runner is the part of a guest connection the helpers below need.
type runner interface {
	Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error
}

// writeMarker writes text (letters, digits, spaces and dashes only) to the marker file.
func writeMarker(ctx context.Context, c runner, text string) error {
	var stderr bytes.Buffer
	cmd := fmt.Sprintf("mkdir -p .fleet && printf '%%s\\n' '%s' > %s && sync", text, markerFile)
	if err := c.Run(ctx, cmd, nil, &stderr); err != nil {
		return fmt.Errorf("write ready marker: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
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
