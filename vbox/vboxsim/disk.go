// This file is about disks, which are directories: copying them (clone,
// snapshot, restore), writing Vagrant-format boxes (make-box) and reading
// and writing the OVF descriptor that import and export use.

package vboxsim

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// copyDir copies the tree src to dst (which must not exist), keeping modes
// and symlinks. If limit >= 0 it stops after that many regular files, which
// is how a clone "dies half way".
func copyDir(src, dst string, limit int) error {
	var paths []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("copy disk %s: %w", src, err)
	}
	sort.Strings(paths)
	files := 0
	for _, p := range paths {
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("copy disk: %w", err)
		}
		switch {
		case fi.IsDir():
			if err := os.MkdirAll(to, fi.Mode().Perm()|0o700); err != nil {
				return fmt.Errorf("copy disk: %w", err)
			}
		case fi.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("copy disk: %w", err)
			}
			if err := os.Symlink(t, to); err != nil {
				return fmt.Errorf("copy disk: %w", err)
			}
		case fi.Mode().IsRegular():
			if limit >= 0 && files >= limit {
				return nil
			}
			files++
			if err := copyFile(p, to, fi.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy disk: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("copy disk: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy disk %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy disk: %w", err)
	}
	return nil
}

// countFiles counts the regular files under dir.
func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// newUUID returns a random lowercase version-4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newMAC returns a VirtualBox-style MAC (OUI 080027), 12 uppercase hex digits.
func newMAC() string {
	var b [3]byte
	rand.Read(b[:])
	return "080027" + strings.ToUpper(hex.EncodeToString(b[:]))
}

// sudoStandIn drops sudo's own options and runs the rest, so "sudo -n -E
// chef-solo ..." works in a guest without sudo.
const sudoStandIn = `#!/bin/sh
# sudo stand-in of the vboxsim guest: drop sudo's options, run the command.
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    -u|-g|-p|-C|-h|-U|-r|-t|-T|-D) shift 2 ;;
    --preserve-env=*|--user=*|--group=*|--prompt=*) shift ;;
    -*) shift ;;
    *) break ;;
  esac
done
while [ $# -gt 0 ]; do
  case "$1" in
    *=*) export "$1"; shift ;;
    *) break ;;
  esac
done
exec "$@"
`

// BoxOptions describes a box for MakeBox.
type BoxOptions struct {
	// Name is the suggested VM name in box.ovf; default "box".
	Name string
	// User is the guest user owning HOME; default "vagrant".
	User string
	// AuthorizedKeys is written to the user's .ssh/authorized_keys.
	AuthorizedKeys []byte
	// Bins are executables copied into the disk's bin/.
	Bins []string
	// Memory (MB) and CPUs of the virtual system; defaults 512 and 1.
	Memory, CPUs int
	// Password, when set, is the password of User and root, and the guest's sshd allows
	// password logins (root's too), as in a Vagrant base box: see writeLoginState.
	Password string
}

// diskHref is the disk directory's name inside a box.
const diskHref = "box-disk1.vmdk"

// MakeBox writes a Vagrant-format box (box.ovf, a disk directory and
// metadata.json) into dir and returns the path of box.ovf.
func MakeBox(dir string, o BoxOptions) (string, error) {
	if o.Name == "" {
		o.Name = "box"
	}
	if o.User == "" {
		o.User = "vagrant"
	}
	if o.Memory == 0 {
		o.Memory = 512
	}
	if o.CPUs == 0 {
		o.CPUs = 1
	}
	if strings.ContainsAny(o.User, "/.") || o.User == "" {
		return "", fmt.Errorf("make box: bad user name %q", o.User)
	}
	disk := filepath.Join(dir, diskHref)
	home := filepath.Join(disk, "home", o.User)
	for _, d := range []string{filepath.Join(home, ".ssh"), filepath.Join(disk, "tmp"), filepath.Join(disk, "bin"), filepath.Join(disk, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("make box: %w", err)
		}
	}
	os.Chmod(filepath.Join(disk, "tmp"), 0o1777)
	if err := os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), o.AuthorizedKeys, 0o600); err != nil {
		return "", fmt.Errorf("make box: %w", err)
	}
	if err := os.WriteFile(filepath.Join(disk, "bin", "sudo"), []byte(sudoStandIn), 0o755); err != nil {
		return "", fmt.Errorf("make box: %w", err)
	}
	if o.Password != "" {
		if err := writeLoginState(disk, o.User, o.Password); err != nil {
			return "", fmt.Errorf("make box: %w", err)
		}
	}
	for _, b := range o.Bins {
		if err := copyFile(b, filepath.Join(disk, "bin", filepath.Base(b)), 0o755); err != nil {
			return "", fmt.Errorf("make box: %w", err)
		}
	}
	if err := ensureHostKey(disk); err != nil {
		return "", err
	}
	ovf := filepath.Join(dir, "box.ovf")
	if err := os.WriteFile(ovf, []byte(renderOVF(ovfInfo{Name: o.Name, OSType: "Ubuntu_64", Memory: o.Memory, CPUs: o.CPUs, Disk: diskHref})), 0o644); err != nil {
		return "", fmt.Errorf("make box: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"provider": "virtualbox"}`+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("make box: %w", err)
	}
	return ovf, nil
}

// ensureHostKey creates the guest's SSH host key in DISK/etc unless it
// exists, so clones keep the host key of their source.
func ensureHostKey(disk string) error {
	p := filepath.Join(disk, "etc", "ssh_host_ed25519_key")
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("host key: %w", err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "vboxsim guest")
	if err != nil {
		return fmt.Errorf("host key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("host key: %w", err)
	}
	if err := os.WriteFile(p, pem.EncodeToMemory(blk), 0o600); err != nil {
		return fmt.Errorf("host key: %w", err)
	}
	return nil
}

func (c *cli) makeBox(args []string) error {
	o, err := parseArgs("make-box", args, map[string]string{
		"--out": "out=", "--user": "user=", "--authorized-key": "key=", "--bin": "bin=",
		"--name": "name=", "--memory": "memory=", "--cpus": "cpus=",
	})
	if err != nil {
		return err
	}
	if o.get("out") == "" || len(o.pos) > 0 {
		return syntaxError("make-box", "make-box needs --out DIR and no positional arguments")
	}
	bo := BoxOptions{Name: o.get("name"), User: o.get("user"), Bins: o.vals["bin"]}
	bo.Memory, _ = strconv.Atoi(o.get("memory"))
	bo.CPUs, _ = strconv.Atoi(o.get("cpus"))
	if k := o.get("key"); k != "" {
		if bo.AuthorizedKeys, err = os.ReadFile(k); err != nil {
			return fmt.Errorf("make box: %w", err)
		}
	}
	p, err := MakeBox(o.get("out"), bo)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.out, p)
	return nil
}

// ovfInfo is what the simulator reads from and writes to an OVF descriptor.
type ovfInfo struct {
	Name, OSType string
	Memory, CPUs int
	Disk         string
}

func renderOVF(i ovfInfo) string {
	return fmt.Sprintf(`<?xml version="1.0"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:id="file1" ovf:href="%s"/>
  </References>
  <DiskSection>
    <Disk ovf:capacity="10737418240" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <VirtualSystem ovf:id="%s">
    <OperatingSystemSection ovf:id="94">
      <vbox:OSType ovf:required="false">%s</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Item><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>%d</rasd:VirtualQuantity></Item>
      <Item><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>%d</rasd:VirtualQuantity></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`, i.Disk, i.Name, i.OSType, i.CPUs, i.Memory)
}

var (
	reOVFHref   = regexp.MustCompile(`<File [^>]*ovf:href="([^"]+)"`)
	reOVFSystem = regexp.MustCompile(`<VirtualSystem [^>]*ovf:id="([^"]*)"`)
	reOVFOSType = regexp.MustCompile(`<vbox:OSType[^>]*>([^<]*)<`)
	reOVFItem   = regexp.MustCompile(`(?s)<rasd:ResourceType>(\d+)</rasd:ResourceType>.*?<rasd:VirtualQuantity>(\d+)</rasd:VirtualQuantity>`)
)

// parseOVF reads the fields the simulator needs from an OVF descriptor.
func parseOVF(text string) (ovfInfo, error) {
	var i ovfInfo
	m := reOVFSystem.FindStringSubmatch(text)
	if m == nil {
		return i, fmt.Errorf("no VirtualSystem element")
	}
	i.Name = m[1]
	h := reOVFHref.FindStringSubmatch(text)
	if h == nil {
		return i, fmt.Errorf("no disk file reference")
	}
	i.Disk = h[1]
	if strings.Contains(i.Disk, "..") || filepath.IsAbs(i.Disk) {
		return i, fmt.Errorf("disk reference %q leaves the appliance folder", i.Disk)
	}
	if o := reOVFOSType.FindStringSubmatch(text); o != nil {
		i.OSType = o[1]
	}
	i.Memory, i.CPUs = 512, 1
	for _, it := range reOVFItem.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(it[2])
		switch it[1] {
		case "3":
			i.CPUs = n
		case "4":
			i.Memory = n
		}
	}
	return i, nil
}
