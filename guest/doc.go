// Package guest is the agent's SSH communicator: every conversation with a
// VM (provisioning the golden image, checking a worker is ready, running a
// job) goes through it, so no other package imports golang.org/x/crypto/ssh.
//
// A Client is one SSH connection to one VM's forwarded port on 127.0.0.1.
// It runs commands with stdout and stderr streamed to writers as they
// arrive, reports non-zero exits as *ExitError, cancels a command with its
// context by killing the remote process group (the "signal" channel request
// first, then a second command that kills the group when the first was not
// enough), uploads files and tar streams over exec sessions (`cat`,
// `tar -x`; never an external scp), and sends keepalives so a dead VM is
// noticed within seconds.
//
// Host keys are pinned: a VM's key is trusted once, at the moment the VM
// becomes ready (Config.TrustOnFirstUse), stored by the caller with the VM's
// facts (FormatHostKey) and checked on every later connection (Config.HostKey).
// A changed key is a *HostKeyError naming the VM, never a silent accept.
//
// Keys: LoadOrCreateKey makes the agent's own ed25519 key in the state
// directory; VagrantInsecureKey is the well-known key Vagrant boxes ship
// with; InstallAgentKey puts the agent's key in the build user's
// authorized_keys and removes the insecure one.
//
// Callers declare the small interface they need; *Client satisfies, e.g.:
//
//	type Runner interface {
//		Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error
//		Upload(ctx context.Context, path string, mode fs.FileMode, r io.Reader) error
//	}
package guest
