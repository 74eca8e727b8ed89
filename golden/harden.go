package golden

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/fleet-agent/fleet/reconcile"
)

// HardeningVersion names the hardening steps below; it is part of a golden's fingerprint
// (reconcile.Image.Hardening), so bump reconcile.HardeningVersion when they change.
const HardeningVersion = reconcile.HardeningVersion

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
	// R is empty in a real guest; the simulator's guest sets FLEET_GUEST_ROOT to its disk, so
	// the files edited are the simulated guest's, never the host's.
	b.WriteString("set -e\nR=\"${FLEET_GUEST_ROOT:-}\"\n")
	users := []string{user}
	if user != "root" {
		users = append(users, "root")
	}
	for _, u := range users {
		// Without passwd -l or usermod -L (busybox images), lock the shadow entry by hand; a
		// guest with no /etc/shadow has no password to lock.
		fmt.Fprintf(&b, "passwd -l %s >/dev/null 2>&1 || usermod -L %s >/dev/null 2>&1 || [ ! -f \"$R/etc/shadow\" ] || sed -i -E 's/^(%s):([^!*])/\\1:!\\2/' \"$R/etc/shadow\"\n", u, u, u)
	}
	b.WriteString(`if [ -f "$R/etc/ssh/sshd_config" ]; then
  for k in PasswordAuthentication KbdInteractiveAuthentication ChallengeResponseAuthentication PermitRootLogin; do
    sed -i -E "/^[[:space:]]*#?[[:space:]]*$k[[:space:]]/d" "$R/etc/ssh/sshd_config"
  done
  if grep -Eqi '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/' "$R/etc/ssh/sshd_config"; then
    mkdir -p "$R/etc/ssh/sshd_config.d"
    # Another drop-in read first (00-cloud.conf sorts before ours) would win: drop its settings.
    for f in "$R"/etc/ssh/sshd_config.d/*.conf; do
      [ -f "$f" ] || continue
      for k in PasswordAuthentication KbdInteractiveAuthentication ChallengeResponseAuthentication PermitRootLogin; do
        sed -i -E "/^[[:space:]]*$k[[:space:]]/d" "$f"
      done
    done
    cat > "$R` + sshdDropIn + `" <<'FLEET'
PasswordAuthentication no
KbdInteractiveAuthentication no
ChallengeResponseAuthentication no
PermitRootLogin prohibit-password
FLEET
  else
    cat >> "$R/etc/ssh/sshd_config" <<'FLEET'
PasswordAuthentication no
KbdInteractiveAuthentication no
ChallengeResponseAuthentication no
PermitRootLogin prohibit-password
FLEET
  fi
  sshd -t
  { systemctl reload ssh || systemctl reload sshd || service ssh reload || pkill -HUP -x sshd; } >/dev/null 2>&1
fi
if command -v dropbear >/dev/null 2>&1 && [ ! -f "$R/etc/ssh/sshd_config" ]; then
  mkdir -p "$R/etc/default"
  touch "$R/etc/default/dropbear"
  sed -i '/^DROPBEAR_EXTRA_ARGS=/d' "$R/etc/default/dropbear"
  echo 'DROPBEAR_EXTRA_ARGS="-s -g"' >> "$R/etc/default/dropbear"
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
