// This file models the guest's login state: passwords in the disk's etc/shadow and the
// password settings of its OpenSSH configuration (etc/ssh/sshd_config and the drop-ins it
// includes), and the stand-ins for the privileged commands that change them, so golden
// hardening runs against the simulated guest and never touches the host.

package vboxsim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"
)

// guestRootEnv names the simulated guest's root (its disk) to commands run in it; scripts
// prefix the guest files they edit with it.
const guestRootEnv = "FLEET_GUEST_ROOT"

// standIns are the privileged commands the guest's bin/ replaces: they act on the disk or
// succeed without doing anything on the host.
var standIns = map[string]string{
	"passwd": `#!/bin/sh
# passwd stand-in of the vboxsim guest: only "passwd -l USER", which locks USER in etc/shadow.
[ "$1" = -l ] && [ -n "$2" ] || { echo "passwd: only -l USER is simulated" >&2; exit 1; }
f="$(dirname "$(dirname "$0")")/etc/shadow"
[ -f "$f" ] || exit 0
sed -i -E "s/^($2):([^!*])/\1:!\2/" "$f"
`,
	"usermod":   "#!/bin/sh\necho 'usermod: not simulated' >&2\nexit 1\n",
	"sshd":      "#!/bin/sh\n# sshd stand-in of the vboxsim guest: the configuration is read at each login.\nexit 0\n",
	"systemctl": "#!/bin/sh\n# systemctl stand-in of the vboxsim guest.\nexit 0\n",
	"service":   "#!/bin/sh\n# service stand-in of the vboxsim guest.\nexit 0\n",
	"pkill":     "#!/bin/sh\necho 'pkill: not simulated' >&2\nexit 1\n",
}

// ensureStandIns writes the stand-ins into the disk's bin/ unless they exist.
func ensureStandIns(disk string) error {
	bin := filepath.Join(disk, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for name, script := range standIns {
		p := filepath.Join(bin, name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			return fmt.Errorf("stand-in %s: %w", name, err)
		}
	}
	return nil
}

// writeLoginState gives a new box the password login state of a Vagrant base box: user and
// root have password (plain text in the model's etc/shadow: "user:password", "user:!password"
// once locked) and OpenSSH allows password logins, root's included.
func writeLoginState(disk, user, password string) error {
	shadow := fmt.Sprintf("root:%s\n%s:%s\n", password, user, password)
	if err := os.WriteFile(filepath.Join(disk, "etc", "shadow"), []byte(shadow), 0o600); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(disk, "etc", "ssh", "sshd_config.d"), 0o755); err != nil {
		return err
	}
	cfg := "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication yes\nPermitRootLogin yes\n"
	return os.WriteFile(filepath.Join(disk, "etc", "ssh", "sshd_config"), []byte(cfg), 0o644)
}

// sshdSettings returns the first value of each keyword (lower case) in the disk's
// sshd_config, reading included drop-ins where the Include line stands, as sshd does. ok is
// false when the guest has no sshd_config (no password-capable SSH server).
func sshdSettings(disk string) (map[string]string, bool) {
	b, err := os.ReadFile(filepath.Join(disk, "etc", "ssh", "sshd_config"))
	if err != nil {
		return nil, false
	}
	set := map[string]string{}
	var read func(b []byte, depth int)
	read = func(b []byte, depth int) {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 || strings.HasPrefix(f[0], "#") {
				continue
			}
			k := strings.ToLower(f[0])
			if k == "include" && depth < 4 {
				matches, _ := filepath.Glob(filepath.Join(disk, strings.TrimPrefix(f[1], "/")))
				sort.Strings(matches)
				for _, m := range matches {
					if inc, err := os.ReadFile(m); err == nil {
						read(inc, depth+1)
					}
				}
				continue
			}
			if _, seen := set[k]; !seen {
				set[k] = strings.ToLower(f[1])
			}
		}
	}
	read(b, 0)
	return set, true
}

// checkPassword is the guest's password authentication: the user's unlocked etc/shadow
// password, with sshd allowing password logins (and, for root, password root logins).
func (g *guest) checkPassword(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
	refused := errors.New("password refused")
	set, ok := sshdSettings(g.spec.Disk)
	if !ok || set["passwordauthentication"] == "no" {
		return nil, refused
	}
	user := meta.User()
	if user == "root" && set["permitrootlogin"] != "" && set["permitrootlogin"] != "yes" {
		return nil, refused
	}
	b, err := os.ReadFile(filepath.Join(g.spec.Disk, "etc", "shadow"))
	if err != nil {
		return nil, refused
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, pw, found := strings.Cut(line, ":")
		if found && name == user && pw != "" && !strings.HasPrefix(pw, "!") && !strings.HasPrefix(pw, "*") && pw == string(password) {
			return &ssh.Permissions{}, nil
		}
	}
	return nil, refused
}
