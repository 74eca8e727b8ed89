package golden

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
)

// KnownPassword is the password Vagrant's base-box guide gives the build user and root; the
// check before the ready snapshot makes sure it no longer lets anyone in.
const KnownPassword = "vagrant"

// ErrNotHardened marks a golden that failed the check before its snapshot: it must not be
// used. The error says which step failed.
var ErrNotHardened = errors.New("golden image not hardened")

// HardenAndVerify hardens the golden over c (see HardeningScript) and then checks from the
// host that addr accepts only the agent: a fresh connection with the agent key alone runs a
// command, and password-only logins with KnownPassword as the build user and as root are
// refused. A failure wraps ErrNotHardened. A pool that allows passwords (ssh.allow_password,
// unsafe) is left as the box ships it.
func HardenAndVerify(ctx context.Context, c Runner, r reconcile.GoldenRequest, addr string, agent ssh.Signer) error {
	if r.Pool.Image.Hardening == "" {
		return nil
	}
	user := SSHUser(r.Box)
	if err := Harden(ctx, c, user); err != nil {
		return fmt.Errorf("%w: %w", ErrNotHardened, err)
	}
	return Verify(ctx, r.Name, addr, user, agent)
}

// Verify is the host's check of a hardened guest at addr (see HardenAndVerify).
func Verify(ctx context.Context, vm, addr, user string, agent ssh.Signer) error {
	ac, err := guest.Dial(ctx, guest.Config{VM: vm, Addr: addr, User: user, Signers: []ssh.Signer{agent}, TrustOnFirstUse: true})
	if err != nil {
		return fmt.Errorf("%w: agent key login: %w", ErrNotHardened, err)
	}
	err = ac.Run(ctx, "true", nil, nil)
	ac.Close()
	if err != nil {
		return fmt.Errorf("%w: agent key login: %w", ErrNotHardened, err)
	}
	users := []string{user}
	if user != "root" {
		users = append(users, "root")
	}
	for _, u := range users {
		if err := CheckPasswordRefused(ctx, addr, u, KnownPassword); err != nil {
			return fmt.Errorf("%w: %w", ErrNotHardened, err)
		}
	}
	return nil
}
