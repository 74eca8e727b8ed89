package guest

// This file gives a box's build user the agent's key and takes away the
// Vagrant insecure key, so a golden image and its clones accept only the
// agent.

import (
	"bytes"
	"context"
	"fmt"
	"path"

	"golang.org/x/crypto/ssh"
)

// authorizedKeysPath is relative to the build user's home, the working
// directory of every command (OpenSSH and the simulator alike).
const authorizedKeysPath = ".ssh/authorized_keys"

// maxAuthorizedKeys bounds how much of an existing authorized_keys is read.
const maxAuthorizedKeys = 1 << 20

// agentKeyComment marks the line InstallAgentKey adds.
const agentKeyComment = "fleet-agent"

// InstallAgentKey makes the agent's key the way into the guest: it adds
// agentKey to the connected user's ~/.ssh/authorized_keys (once) and removes
// the Vagrant insecure key, keeping every other line. The file is replaced
// atomically with mode 0600, so a failure leaves the old file in place and
// the user is never locked out.
func InstallAgentKey(ctx context.Context, c *Client, agentKey ssh.PublicKey) error {
	return installAgentKey(ctx, c, agentKey, authorizedKeysPath)
}

// installAgentKey rewrites the authorized_keys file at file; tests point it
// at the test sshd's file instead of the real user's home.
func installAgentKey(ctx context.Context, c *Client, agentKey ssh.PublicKey, file string) error {
	insecure, _, _, _, err := ssh.ParseAuthorizedKey([]byte(VagrantInsecurePublicKey))
	if err != nil {
		return fmt.Errorf("install agent key: parse vagrant key: %w", err)
	}
	current := &limitedBuffer{max: maxAuthorizedKeys}
	dir, qfile := shellQuote(path.Dir(file)), shellQuote(file)
	read := "mkdir -p " + dir + " && chmod 700 " + dir + " && if [ -f " + qfile + " ]; then cat " + qfile + "; fi"
	if err := c.Run(ctx, read, current, nil); err != nil {
		return fmt.Errorf("install agent key: read authorized_keys: %w", err)
	}
	if current.Len() >= maxAuthorizedKeys {
		return fmt.Errorf("install agent key on vm %s: authorized_keys larger than %d bytes", c.cfg.VM, maxAuthorizedKeys)
	}
	next := RewriteAuthorizedKeys(current.Bytes(), agentKey, insecure)
	if err := c.Upload(ctx, file, 0o600, bytes.NewReader(next)); err != nil {
		return fmt.Errorf("install agent key: %w", err)
	}
	return nil
}

// RewriteAuthorizedKeys returns authorized_keys content with add present
// exactly once and every key in remove dropped. Comments, blank lines,
// options and lines it cannot parse are kept as they are, in order. When a
// key is both added and removed it is kept: the result must always let the
// agent in.
func RewriteAuthorizedKeys(content []byte, add ssh.PublicKey, remove ...ssh.PublicKey) []byte {
	addWire := add.Marshal()
	var out bytes.Buffer
	added := false
	for line := range bytes.Lines(content) {
		key, ok := lineKey(line)
		switch {
		case !ok:
		case bytes.Equal(key, addWire):
			if added {
				continue
			}
			added = true
		case containsKey(remove, key):
			continue
		}
		out.Write(line)
		if !bytes.HasSuffix(line, []byte("\n")) {
			out.WriteByte('\n')
		}
	}
	if !added {
		out.Write(bytes.TrimSpace(ssh.MarshalAuthorizedKey(add)))
		out.WriteString(" " + agentKeyComment + "\n")
	}
	return out.Bytes()
}

// lineKey returns the wire form of the key on one authorized_keys line, or
// false for comments, blank lines and lines that do not parse.
func lineKey(line []byte) ([]byte, bool) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] == '#' {
		return nil, false
	}
	key, _, _, rest, err := ssh.ParseAuthorizedKey(trimmed)
	if err != nil || len(rest) > 0 {
		return nil, false
	}
	return key.Marshal(), true
}

func containsKey(keys []ssh.PublicKey, wire []byte) bool {
	for _, k := range keys {
		if bytes.Equal(k.Marshal(), wire) {
			return true
		}
	}
	return false
}
