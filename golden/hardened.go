package golden

import (
	"context"
	"errors"
	"fmt"
	"time"

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
// host that addr accepts only the agent: a fresh connection with the agent key alone runs
// sync, and password-only logins with KnownPassword as the build user, root and vagrant are
// refused. A failure wraps ErrNotHardened. A pool that allows passwords (ssh.allow_password,
// unsafe) is left as the box ships it (c runs sync). Either way the guest's disk is synced for
// the snapshot taken next, and c may not be usable afterwards (the SSH server restarted).
func HardenAndVerify(ctx context.Context, c Runner, r reconcile.GoldenRequest, addr string, agent ssh.Signer) error {
	if r.Pool.Image.Hardening == "" {
		if err := c.Run(ctx, "sync", nil, nil); err != nil {
			return fmt.Errorf("sync golden: %w", err)
		}
		return nil
	}
	user := SSHUser(r.Box)
	if err := Harden(ctx, c, user); err != nil {
		return fmt.Errorf("%w: %w", ErrNotHardened, err)
	}
	return Verify(ctx, r.Name, addr, user, agent)
}

// verifyWait bounds how long Verify waits for the agent key to log in: the SSH server may
// still be coming back from the hardening's restart.
const verifyWait = 30 * time.Second

// Verify is the host's check of a hardened guest at addr (see HardenAndVerify): the agent key
// logs in and runs sync, and KnownPassword logs in as none of user, root and vagrant.
func Verify(ctx context.Context, vm, addr, user string, agent ssh.Signer) error {
	ac, err := guest.WaitForSSH(ctx, guest.Config{VM: vm, Addr: addr, User: user, Signers: []ssh.Signer{agent}, TrustOnFirstUse: true}, verifyWait)
	if err != nil {
		return fmt.Errorf("%w: agent key login: %w", ErrNotHardened, err)
	}
	err = ac.Run(ctx, "sync", nil, nil)
	ac.Close()
	if err != nil {
		return fmt.Errorf("%w: agent key login: %w", ErrNotHardened, err)
	}
	for _, u := range passwordUsers(user) {
		if err := CheckPasswordRefused(ctx, addr, u, KnownPassword); err != nil {
			return fmt.Errorf("%w: %w", ErrNotHardened, err)
		}
	}
	return nil
}
