// Package golden holds the guest-side steps of the image pipeline that every provider runs the
// same way over SSH: the key a fresh box accepts, provisioning a golden image with chef-solo and
// handing it over to the agent's own key, and the ready marker a worker carries. The providers
// (vboxprovider, qemu) differ in how they make, boot and snapshot VMs, never in these.
package golden

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/chef"
	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
	"github.com/fleet-agent/fleet/sandbox"
)

// DefaultUser is the build user of a box that names none: Vagrant's.
const DefaultUser = "vagrant"

// BoxSigners returns the key a fresh box accepts: the box's ssh.private_key, or Vagrant's
// well-known insecure key.
func BoxSigners(b reconcile.BoxSpec) ([]ssh.Signer, error) {
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

// SSHUser returns the box's build user.
func SSHUser(b reconcile.BoxSpec) string {
	if b.Spec != nil && b.Spec.SSH.User != "" {
		return b.Spec.SSH.User
	}
	return DefaultUser
}

// Provision runs chef-solo in the guest when the pool has a provision block (output to log;
// nil discards), then makes agentKey the only way in: the box's insecure key stops working, so
// no worker cloned from this golden accepts it.
func Provision(ctx context.Context, c *guest.Client, r reconcile.GoldenRequest, agentKey ssh.PublicKey, log io.Writer) error {
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
		if log == nil {
			log = io.Discard
		}
		opts := chef.Options{Sudo: cs.SudoPath, ChefSolo: cs.ChefSoloPath, Timeout: cs.Timeout}
		if err := chef.Provision(ctx, c, bundle, opts, log); err != nil {
			return err
		}
	}
	if err := guest.InstallAgentKey(ctx, c, agentKey); err != nil {
		return fmt.Errorf("install agent key: %w", err)
	}
	return nil
}

// Runner is the part of a guest connection WriteMarker needs.
type Runner interface {
	Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error
}

// WriteMarker writes text to the ready marker file (sandbox.MarkerFile, relative to the build
// user's home) and syncs it, so a snapshot taken next holds it. text must be letters, digits,
// spaces and dashes only (a VM name and a UUID): it is written inside single quotes.
func WriteMarker(ctx context.Context, c Runner, text string) error {
	for _, r := range text {
		if !(r == ' ' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("write ready marker: %q has a character other than letters, digits, spaces and dashes", text)
		}
	}
	var stderr bytes.Buffer
	cmd := fmt.Sprintf("mkdir -p .fleet && printf '%%s\\n' '%s' > %s && sync", text, sandbox.MarkerFile)
	if err := c.Run(ctx, cmd, nil, &stderr); err != nil {
		return fmt.Errorf("write ready marker: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
