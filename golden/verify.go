package golden

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrPasswordAccepted is returned by CheckPasswordRefused when the guest let the password in:
// the golden is not hardened and must not be used.
var ErrPasswordAccepted = errors.New("password login accepted")

// CheckPasswordRefused tries to log in to addr as user with password only (password and
// keyboard-interactive auth, no key) and returns nil when the server refuses it,
// ErrPasswordAccepted (wrapped) when it lets the password in, and another error when the check
// could not be made. The password never appears in the error.
func CheckPasswordRefused(ctx context.Context, addr, user, password string) error {
	cfg := &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{
			ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				a := make([]string, len(qs))
				for i := range a {
					a[i] = password
				}
				return a, nil
			}),
		},
		// Only whether auth succeeds is checked; no command is run over this connection.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         30 * time.Second,
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("check password login to %s@%s: %w", user, addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err == nil {
		ssh.NewClient(c, chans, reqs).Close()
		return fmt.Errorf("check password login to %s@%s: %w", user, addr, ErrPasswordAccepted)
	}
	if strings.Contains(err.Error(), "unable to authenticate") {
		return nil
	}
	return fmt.Errorf("check password login to %s@%s: %w", user, addr, err)
}
