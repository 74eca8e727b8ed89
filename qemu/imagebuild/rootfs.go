// The rootfs tree and the images made from it: busybox with a link per applet, dropbear with
// its libraries, the virtio modules, the boot scripts, root's SSH key, the users of a Vagrant
// base box (root and vagrant, password "vagrant"), then the gzip cpio
// initramfs and the ext4 disk converted to qcow2.

package imagebuild

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

const dropbearBin = "/usr/sbin/dropbear"

// initScript is PID 1 of the initramfs: load the virtio modules, then switch to the disk named
// by root= (or stay on the initramfs without one).
const initScript = `#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /etc/modules.load); do insmod /lib/modules/$m 2>/dev/null; done
root=; for x in $(cat /proc/cmdline); do case $x in root=*) root=${x#root=};; esac; done
if [ -n "$root" ] && [ -d /newroot ] && ! grep -q ' / ext4 ' /proc/mounts; then
  i=0; while [ ! -b "$root" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  if mount -t ext4 -o rw "$root" /newroot; then
    for d in proc sys dev; do mount --move /$d /newroot/$d; done
    exec switch_root /newroot /sbin/init
  fi
fi
exec /sbin/init
`

// inittab respawns dropbear the way a Vagrant base box runs its SSH server before hardening:
// password logins allowed (no -s), root's included (no -g), so the golden hardening has
// something to turn off (golden.HardeningScript edits this line and restarts dropbear).
const inittab = `::sysinit:/etc/rc
::respawn:/usr/sbin/dropbear -F -E -p 22 -r /etc/dropbear/dropbear_ed25519_host_key -r /etc/dropbear/dropbear_ecdsa_host_key -r /etc/dropbear/dropbear_rsa_host_key
::shutdown:/bin/umount -a -r
`

const rcScript = `#!/bin/sh
grep -q ' /dev/pts ' /proc/mounts || { mkdir -p /dev/pts && mount -t devpts devpts /dev/pts; }
grep -q ' /run ' /proc/mounts || mount -t tmpfs tmpfs /run
ip link set lo up; ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2; echo 'nameserver 10.0.2.3' > /etc/resolv.conf
`

// sudoScript stands in for sudo: everything runs as root in this guest, so it drops the
// options (chef's `sudo -n`) and runs the command.
const sudoScript = `#!/bin/sh
while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done
exec "$@"
`

// gitScript stands in for git in this test guest, which has no git: `clone [options] [--] URL
// DIR` makes DIR and, for an http:// URL, unpacks URL/archive.tar into it (the repository
// server of the end-to-end tests, reached through QEMU's user network); everything else
// succeeds. Jobs in tests prove the sandbox and the daemon, not git.
const gitScript = `#!/bin/sh
case "$1" in
clone)
  url= dir=
  for a; do case "$a" in clone|-*) ;; *) url=$dir dir=$a ;; esac; done
  mkdir -p "$dir" || exit 128
  case "$url" in
  http://*)
    wget -q -O "$dir/.archive.tar" "$url/archive.tar" && tar -x -f "$dir/.archive.tar" -C "$dir" && rm -f "$dir/.archive.tar" ||
      { echo "test-image git: cannot fetch $url/archive.tar" >&2; exit 128; } ;;
  esac
  echo "test-image git: cloned $url into $dir" ;;
esac
exit 0
`

// build assembles the image in tmp/out.
func build(ctx context.Context, opts Options, in *inputs, tmp string) (*Image, error) {
	k, err := unpackKernel(ctx, in.debPath, filepath.Join(tmp, "kroot"))
	if err != nil {
		return nil, err
	}
	root := filepath.Join(tmp, "rootfs")
	out := filepath.Join(tmp, "out")
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc/dropbear", "proc", "sys", "dev", "run",
		"newroot", "lib/modules", "root/.ssh", "var/lib", "home"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Mkdir(filepath.Join(root, "tmp"), 0o1777); err != nil {
		return nil, err
	}
	os.Chmod(filepath.Join(root, "tmp"), 0o1777|os.ModeSticky)
	os.Chmod(filepath.Join(root, "root"), 0o700)
	os.Chmod(filepath.Join(root, "root/.ssh"), 0o700)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Log, "imagebuild: rootfs with kernel %s\n", k.Release)
	if err := installBusybox(ctx, in.busyboxBin, root); err != nil {
		return nil, err
	}
	copies := map[string]string{dropbearBin: dropbearBin}
	for _, l := range in.libPaths {
		copies[l] = l
	}
	var names []string
	for _, m := range k.Modules {
		copies["/lib/modules/"+filepath.Base(m)] = m
		names = append(names, filepath.Base(m))
	}
	for dst, src := range copies {
		if err := copyFile(src, filepath.Join(root, dst), 0o755); err != nil {
			return nil, err
		}
	}
	for dst, f := range opts.Extra {
		mode := f.Mode
		if mode == 0 {
			mode = 0o755
		}
		if err := copyFile(f.Src, filepath.Join(root, dst), mode); err != nil {
			return nil, err
		}
	}
	shadow, err := shadowFile(ctx, in.busyboxBin)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(root, "home", VagrantUser), 0o755); err != nil {
		return nil, err
	}
	files := []struct {
		path, body string
		mode       os.FileMode
	}{
		{"init", initScript, 0o755},
		{"etc/inittab", inittab, 0o644},
		{"etc/rc", rcScript, 0o755},
		{"etc/modules.load", strings.Join(names, "\n") + "\n", 0o644},
		{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n" + VagrantUser + ":x:1000:1000:vagrant:/home/" + VagrantUser + ":/bin/sh\n", 0o644},
		{"etc/group", "root:x:0:\n" + VagrantUser + ":x:1000:\n", 0o644},
		{"etc/shadow", shadow, 0o600},
		{"etc/shells", "/bin/sh\n", 0o644},
		{"etc/hostname", "fleet-guest\n", 0o644},
		{"usr/bin/sudo", sudoScript, 0o755},
		{"usr/bin/git", gitScript, 0o755},
	}
	for _, f := range files {
		os.Remove(filepath.Join(root, f.path)) // never write through a busybox applet link
		if err := os.WriteFile(filepath.Join(root, f.path), []byte(f.body), f.mode); err != nil {
			return nil, err
		}
	}
	pub, err := writeClientKey(filepath.Join(out, KeyFile))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(root, "root/.ssh/authorized_keys"), pub, 0o600); err != nil {
		return nil, err
	}
	// Every key type dropbear may negotiate: with only an ed25519 key, a client that prefers
	// RSA (Go's x/crypto/ssh) makes dropbear 2022.83 fail an assertion before auth.
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		if err := run(ctx, "", "dropbearkey", "-t", typ, "-f", filepath.Join(root, "etc/dropbear/dropbear_"+typ+"_host_key")); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(opts.Log, "imagebuild: initramfs and disk\n")
	cpio := fmt.Sprintf("cd %q && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet | gzip -6 > %q", root, filepath.Join(out, InitrdFile))
	if err := run(ctx, "", "sh", "-c", cpio); err != nil {
		return nil, err
	}
	raw := filepath.Join(tmp, "disk.raw")
	if err := run(ctx, "", "mke2fs", "-q", "-t", "ext4", "-L", "root", "-E", "root_owner=0:0", "-d", root, raw, "64M"); err != nil {
		return nil, err
	}
	// The tree is the building user's; only the vagrant user's home changes owner on the disk.
	for _, field := range []string{"uid", "gid"} {
		if err := run(ctx, "", "debugfs", "-w", "-R", "set_inode_field /home/"+VagrantUser+" "+field+" 1000", raw); err != nil {
			return nil, err
		}
	}
	if err := run(ctx, "", "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, filepath.Join(out, DiskFile)); err != nil {
		return nil, err
	}
	if err := copyFile(k.Vmlinuz, filepath.Join(out, KernelFile), 0o644); err != nil {
		return nil, err
	}
	return &Image{Cmdline: Cmdline, User: "root", Password: Password, KernelRelease: k.Release}, nil
}

// shadowFile returns the guest's /etc/shadow: root and VagrantUser with Password, hashed
// (SHA-512 crypt, a fresh salt per build) by busybox's mkpasswd, the busybox the image is
// built from.
func shadowFile(ctx context.Context, busybox string) (string, error) {
	var b strings.Builder
	for _, u := range []string{"root", VagrantUser} {
		out, err := exec.CommandContext(ctx, busybox, "mkpasswd", "-m", "sha512", Password).Output()
		if err != nil {
			return "", fmt.Errorf("busybox mkpasswd: %w", err)
		}
		hash := strings.TrimSpace(string(out))
		if !strings.HasPrefix(hash, "$6$") || strings.ContainsAny(hash, ":\n") {
			return "", fmt.Errorf("busybox mkpasswd: unexpected output %q", hash)
		}
		// name:hash:lastchange:min:max:warn:inactive:expire:
		fmt.Fprintf(&b, "%s:%s:19000:0:99999:7:::\n", u, hash)
	}
	return b.String(), nil
}

// installBusybox copies busybox to /bin/busybox and links every applet to it.
func installBusybox(ctx context.Context, bin, root string) error {
	if err := copyFile(bin, filepath.Join(root, "bin/busybox"), 0o755); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, bin, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("busybox --list-full: %w", err)
	}
	for _, app := range strings.Fields(string(out)) {
		dst := filepath.Join(root, app)
		if app == "bin/busybox" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", dst); err != nil && !os.IsExist(err) {
			return err
		}
	}
	return nil
}

// writeClientKey writes a new ed25519 private key in OpenSSH form and returns the public half
// in authorized_keys form.
func writeClientKey(path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "fleet test image")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	return ssh.MarshalAuthorizedKey(signer.PublicKey()), nil
}

// copyFile copies src (following links) to dst with mode, making dst's folder.
func copyFile(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	os.Remove(dst) // never write through a link
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
