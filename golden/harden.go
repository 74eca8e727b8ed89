package golden

import (
	"bytes"
	"context"
	"fmt"
	"strings"
)

// HardeningVersion names the hardening steps below. It is meant to be part of a golden's
// fingerprint, so changing the steps rebuilds goldens (not yet wired: see issue 25).
const HardeningVersion = "harden-1"

// sshdDropIn is the sshd drop-in the hardening writes when the guest's sshd_config includes
// sshd_config.d; the same settings are edited into sshd_config otherwise.
const sshdDropIn = "/etc/ssh/sshd_config.d/00-fleet-harden.conf"

// HardeningScript returns the POSIX sh script, run as root in the guest before the ready
// snapshot, that leaves the agent key the only way in: it locks the passwords of user and root,
// turns off password and keyboard-interactive login and root password login in OpenSSH (a
// drop-in under sshd_config.d when sshd_config includes it, else appended to sshd_config; the
// same settings are removed from sshd_config first, as sshd takes the first value it reads) or dropbear (-s -g), and reloads the SSH server. user must be a plain login name.
func HardeningScript(user string) (string, error) {
	if user == "" || strings.IndexFunc(user, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return "", fmt.Errorf("harden: build user %q is not a plain login name", user)
	}
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, u := range []string{user, "root"} {
		fmt.Fprintf(&b, "passwd -l %s >/dev/null 2>&1 || usermod -L %s\n", u, u)
	}
	b.WriteString(`if [ -f /etc/ssh/sshd_config ]; then
  for k in PasswordAuthentication KbdInteractiveAuthentication ChallengeResponseAuthentication PermitRootLogin; do
    sed -i -E "/^[[:space:]]*#?[[:space:]]*$k[[:space:]]/d" /etc/ssh/sshd_config
  done
  if grep -Eqi '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/' /etc/ssh/sshd_config; then
    mkdir -p /etc/ssh/sshd_config.d
    cat > ` + sshdDropIn + ` <<'FLEET'
PasswordAuthentication no
KbdInteractiveAuthentication no
ChallengeResponseAuthentication no
PermitRootLogin prohibit-password
FLEET
  else
    cat >> /etc/ssh/sshd_config <<'FLEET'
PasswordAuthentication no
KbdInteractiveAuthentication no
ChallengeResponseAuthentication no
PermitRootLogin prohibit-password
FLEET
  fi
  sshd -t
  { systemctl reload ssh || systemctl reload sshd || service ssh reload || pkill -HUP -x sshd; } >/dev/null 2>&1
fi
if command -v dropbear >/dev/null 2>&1 && [ ! -f /etc/ssh/sshd_config ]; then
  mkdir -p /etc/default
  touch /etc/default/dropbear
  sed -i '/^DROPBEAR_EXTRA_ARGS=/d' /etc/default/dropbear
  echo 'DROPBEAR_EXTRA_ARGS="-s -g"' >> /etc/default/dropbear
fi
sync
`)
	return b.String(), nil
}

// Harden runs HardeningScript for user in the guest through sudo (the build user keeps sudo:
// the VM is rolled back after every job).
func Harden(ctx context.Context, c Runner, user string) error {
	script, err := HardeningScript(user)
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := "sudo -n sh -c " + shellQuote(script)
	if err := c.Run(ctx, cmd, nil, &stderr); err != nil {
		return fmt.Errorf("harden golden: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
