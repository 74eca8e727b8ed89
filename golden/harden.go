package golden

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/fleet-agent/fleet/guest"
	"github.com/fleet-agent/fleet/reconcile"
)

// HardeningVersion names the hardening steps below; it is part of a golden's fingerprint
// (reconcile.Image.Hardening), so bump reconcile.HardeningVersion when they change.
const HardeningVersion = reconcile.HardeningVersion

// sshdDropIn is the sshd drop-in the hardening writes when the guest's sshd_config includes
// sshd_config.d; the same settings are edited into sshd_config otherwise.
const sshdDropIn = "/etc/ssh/sshd_config.d/00-fleet-harden.conf"

// HardeningScript returns the POSIX sh script, run as root in the guest before the ready
// snapshot, that leaves the agent key the only way in:
//   - it locks the passwords of user, root and vagrant (passwordUsers; one that does not
//     exist is skipped);
//   - OpenSSH: no password or keyboard-interactive login, no root password login (a drop-in
//     under sshd_config.d when sshd_config includes it, else appended to sshd_config; the same
//     settings are removed from sshd_config and earlier drop-ins first, as sshd takes the first
//     value it reads), then sshd is reloaded;
//   - dropbear: -s -g (and no -B) on its busybox inittab line, or DROPBEAR_EXTRA_ARGS in
//     /etc/default/dropbear, then the running server is restarted (init re-reads inittab and
//     respawns it; the script's own session survives) so the server the snapshot holds
//     refuses passwords.
//
// Remote port forwarding stays allowed (no dropbear -j/-k, no AllowTcpForwarding): the
// agent's SSH connection carries the pool's host_services. user must be a plain login name.
func HardeningScript(user string) (string, error) {
	if user == "" || strings.IndexFunc(user, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return "", fmt.Errorf("harden: build user %q is not a plain login name", user)
	}
	var b strings.Builder
	// R is empty in a real guest; the simulator's guest sets FLEET_GUEST_ROOT to its disk, so
	// the files edited are the simulated guest's, never the host's.
	b.WriteString("set -e\nR=\"${FLEET_GUEST_ROOT:-}\" restart=\n")
	for _, u := range passwordUsers(user) {
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
  # dropbear: -s (no password logins) and -g (no root password login), -B (blank passwords)
  # dropped. Never -j or -k: the agent's remote forwards over this server carry host_services.
  line='^[^#]*:respawn:[^[:space:]]*dropbear([[:space:]]|$)'
  if [ -f "$R/etc/inittab" ] && grep -Eq "$line" "$R/etc/inittab"; then
    # Respawned by init (busybox): edit its inittab line.
    sed -i -E "/$line/{
:b
s/[[:space:]]-B([[:space:]]|\$)/\\1/
tb
/[[:space:]]-s([[:space:]]|\$)/!s/(dropbear)([[:space:]]|\$)/\\1 -s\\2/
/[[:space:]]-g([[:space:]]|\$)/!s/(dropbear)([[:space:]]|\$)/\\1 -g\\2/
}" "$R/etc/inittab"
    restart=inittab
  else
    # Started by systemd or an init script that reads /etc/default/dropbear.
    mkdir -p "$R/etc/default"
    touch "$R/etc/default/dropbear"
    sed -i '/^DROPBEAR_EXTRA_ARGS=/d' "$R/etc/default/dropbear"
    echo 'DROPBEAR_EXTRA_ARGS="-s -g"' >> "$R/etc/default/dropbear"
    restart=service
  fi
fi
sync
# Restart dropbear so the running server (the one the ready snapshot holds) refuses passwords.
# Only in a real guest: the simulator's (FLEET_GUEST_ROOT set) reads its files at each login.
if [ -z "$R" ] && [ "$restart" = inittab ] && [ ! -d /run/systemd/system ]; then
  # listeners with|without: the dropbear servers init runs, with or without -s; never our own
  # session (self: this script up to, not including, the server it came through: once that
  # server is stopped, our session is a child of init too).
  self=" " p=$$
  while [ "${p:-0}" -gt 1 ]; do
    pp=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$p/status 2>/dev/null)
    [ "${pp:-1}" -gt 1 ] || break
    self="$self$p " p=$pp
  done
  listeners() {
    for p in $(pidof dropbear); do
      case "$self" in *" $p "*) continue ;; esac
      [ "$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$p/status 2>/dev/null)" = 1 ] || continue
      if tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -Eq '[[:space:]]-s[[:space:]]'; then
        [ "$1" = without ] || echo $p
      else
        [ "$1" = with ] || echo $p
      fi
    done
    return 0
  }
  if [ -n "$(listeners without)" ]; then
    echo "` + restartMark + `"
    kill -HUP 1 # init re-reads inittab: the edited line replaces the old one
    sleep 1
    i=0
    while :; do
      stale=$(listeners without)
      [ -z "$stale" ] || kill $stale 2>/dev/null || true
      [ -z "$stale" ] && [ -n "$(listeners with)" ] && break
      i=$((i+1))
      [ $i -lt 60 ] || { echo "harden: dropbear did not come back with -s after the restart" >&2; exit 1; }
      sleep 1
    done
  fi
elif [ -z "$R" ] && [ "$restart" = service ]; then
  echo "` + restartMark + `"
  { systemctl restart dropbear || service dropbear restart || /etc/init.d/dropbear restart; } >/dev/null 2>&1 ||
    { echo "harden: cannot restart dropbear" >&2; exit 1; }
fi
`)
	return b.String(), nil
}

// restartMark is what the hardening script prints just before it restarts the SSH server its
// own session came through; a session lost after it is the restart's doing, not a failure.
const restartMark = "fleet-harden: restarting dropbear"

// Harden runs HardeningScript for user in the guest through sudo (the build user keeps sudo:
// the VM is rolled back after every job). When the connection is lost after the script began
// restarting the SSH server (a service manager that stops a server's sessions with it), Harden
// returns nil: every other step is done, and the check from the host (Verify) decides.
func Harden(ctx context.Context, c Runner, user string) error {
	script, err := HardeningScript(user)
	if err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	cmd := "sudo -n sh -c " + shellQuote(script)
	if err := c.Run(ctx, cmd, &stdout, &stderr); err != nil {
		var missing *ssh.ExitMissingError
		if strings.Contains(stdout.String(), restartMark) && ctx.Err() == nil &&
			(errors.As(err, &missing) || errors.Is(err, guest.ErrConnectionLost) || errors.Is(err, io.EOF)) {
			return nil
		}
		return fmt.Errorf("harden golden: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// passwordUsers are the logins whose passwords the hardening locks and the check tries: the
// build user, root, and Vagrant's user (every Vagrant base box has it with the known password,
// even when another user builds).
func passwordUsers(user string) []string {
	users := []string{user}
	for _, u := range []string{"root", DefaultUser} {
		if u != user {
			users = append(users, u)
		}
	}
	return users
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
